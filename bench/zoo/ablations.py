"""Registers the MobileOne ablation networks (see ablation_nets for every architectural choice)."""

from bench.zoo.registry import register_model

ACTIVATION_SUITE = "mobileone-activations"
BLOCK_SUITE = "mobileone-blocks"


def _builder(activation: str, block: str):
    def build():
        from bench.zoo.ablation_nets import AblationNet

        return AblationNet(activation=activation, block=block)

    return build


for _activation in ("relu", "gelu", "se_relu", "hswish", "dyshiftmax", "dyrelu_a", "dyrelu_b"):
    suites = (ACTIVATION_SUITE, BLOCK_SUITE) if _activation == "relu" else (ACTIVATION_SUITE,)
    register_model(f"ablation_{_activation}", resolution=224, family="mobileone-ablation",
                   source="MobileOne paper Table 3 (30-layer net)", suites=suites)(_builder(_activation, "plain"))

for _block in ("skip", "se"):
    register_model(f"ablation_{_block}", resolution=224, family="mobileone-ablation",
                   source="MobileOne paper Table 1b (30-layer net)", suites=(BLOCK_SUITE,))(_builder("relu", _block))
