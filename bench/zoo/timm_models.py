"""Zoo entries backed by timm (pretrained=False: latency does not depend on weights, and no hub is reachable).

Resolutions are the ones each paper reports latency at.
"""

from bench.zoo.registry import register_model
from bench.zoo.timm_registry import timm_builder

# (zoo name, timm name, resolution, family)
_TIMM_MODELS = [
    ("mobileone_s0", "mobileone_s0", 224, "mobileone"),
    ("mobileone_s1", "mobileone_s1", 224, "mobileone"),
    ("mobileone_s2", "mobileone_s2", 224, "mobileone"),
    ("mobileone_s3", "mobileone_s3", 224, "mobileone"),
    ("mobileone_s4", "mobileone_s4", 224, "mobileone"),
    ("mobilenetv4_conv_small", "mobilenetv4_conv_small", 224, "mobilenetv4"),
    ("mobilenetv4_conv_medium", "mobilenetv4_conv_medium", 256, "mobilenetv4"),
    ("mobilenetv4_conv_large", "mobilenetv4_conv_large", 384, "mobilenetv4"),
    ("mobilenetv4_hybrid_medium", "mobilenetv4_hybrid_medium", 256, "mobilenetv4"),
    ("mobilenetv4_hybrid_large", "mobilenetv4_hybrid_large", 384, "mobilenetv4"),
    ("mobilenetv1_100", "mobilenetv1_100", 224, "mobilenetv1"),
    ("mobilenetv2_100", "mobilenetv2_100", 224, "mobilenetv2"),
    ("mobilenetv3_large_100", "mobilenetv3_large_100", 224, "mobilenetv3"),
    ("efficientnet_b0", "efficientnet_b0", 224, "efficientnet"),
    # FastViT and MobileViT papers report latency at 256x256.
    ("fastvit_t8", "fastvit_t8", 256, "fastvit"),
    ("mobilevit_s", "mobilevit_s", 256, "mobilevit"),
]

for _name, _timm_name, _res, _family in _TIMM_MODELS:
    register_model(
        _name,
        resolution=_res,
        family=_family,
        source=f"timm:{_timm_name}",
    )(timm_builder(_timm_name))
