// Declaration-only stand-in for Apple's Core ML, holding exactly what ios_app uses (CoreMLRunner.swift and its tests,
// BenchCore/Tests/BenchCoreTests/CoreMLRunnerTests.swift), so the Linux toolchain can type-check them
// (ios_app/typecheck/typecheck.sh). Never linked, never run: every body is fatalError(). Each declaration is
// transcribed from the Apple documentation page cited beside it; members the app does not use are left out, so using
// one fails the type-check until it is added here from its page.
@_exported import CoreVideo
@_exported import Foundation
@_exported import AppleOnlyFoundation

// https://developer.apple.com/documentation/coreml/mlcomputeunits
// (raw values: the header's NSInteger values, as the Xamarin/.NET binding lists them)
@available(iOS 12.0, *)
public enum MLComputeUnits: Int, @unchecked Sendable {
    // https://developer.apple.com/documentation/coreml/mlcomputeunits/cpuonly
    case cpuOnly = 0
    // https://developer.apple.com/documentation/coreml/mlcomputeunits/cpuandgpu
    case cpuAndGPU = 1
    // https://developer.apple.com/documentation/coreml/mlcomputeunits/all
    case all = 2
    // https://developer.apple.com/documentation/coreml/mlcomputeunits/cpuandneuralengine
    @available(iOS 16.0, *)
    case cpuAndNeuralEngine = 3
}

// https://developer.apple.com/documentation/coreml/mlmultiarraydatatype (only the case the app names)
@available(iOS 11.0, *)
public enum MLMultiArrayDataType: Int, @unchecked Sendable {
    // https://developer.apple.com/documentation/coreml/mlmultiarraydatatype/float16
    @available(iOS 16.0, *)
    case float16 = 65552
}

// https://developer.apple.com/documentation/coreml/mlfeatureprovider
// (an Objective-C protocol: class-bound when imported into Swift)
@available(iOS 11.0, *)
public protocol MLFeatureProvider: AnyObject {
    // https://developer.apple.com/documentation/coreml/mlfeatureprovider/featurenames
    var featureNames: Set<String> { get }
    // https://developer.apple.com/documentation/coreml/mlfeatureprovider/featurevalue(for:)
    func featureValue(for featureName: String) -> MLFeatureValue?
}

// https://developer.apple.com/documentation/coreml/mlmodelconfiguration
@available(iOS 12.0, *)
open class MLModelConfiguration: NSObject {
    override public init() { fatalError() }
    // https://developer.apple.com/documentation/coreml/mlmodelconfiguration/computeunits
    open var computeUnits: MLComputeUnits { get { fatalError() } set { fatalError() } }
}

// https://developer.apple.com/documentation/coreml/mlmultiarrayconstraint
@available(iOS 11.0, *)
open class MLMultiArrayConstraint: NSObject {
    // https://developer.apple.com/documentation/coreml/mlmultiarrayconstraint/shape
    open var shape: [NSNumber] { fatalError() }
    // https://developer.apple.com/documentation/coreml/mlmultiarrayconstraint/datatype
    open var dataType: MLMultiArrayDataType { fatalError() }
}

// https://developer.apple.com/documentation/coreml/mlimageconstraint
@available(iOS 11.0, *)
open class MLImageConstraint: NSObject {
    // https://developer.apple.com/documentation/coreml/mlimageconstraint/pixelswide
    open var pixelsWide: Int { fatalError() }
    // https://developer.apple.com/documentation/coreml/mlimageconstraint/pixelshigh
    open var pixelsHigh: Int { fatalError() }
}

// https://developer.apple.com/documentation/coreml/mlfeaturedescription
@available(iOS 11.0, *)
open class MLFeatureDescription: NSObject {
    // https://developer.apple.com/documentation/coreml/mlfeaturedescription/multiarrayconstraint
    open var multiArrayConstraint: MLMultiArrayConstraint? { fatalError() }
    // https://developer.apple.com/documentation/coreml/mlfeaturedescription/imageconstraint
    open var imageConstraint: MLImageConstraint? { fatalError() }
}

// https://developer.apple.com/documentation/coreml/mlmodeldescription
@available(iOS 11.0, *)
open class MLModelDescription: NSObject {
    // https://developer.apple.com/documentation/coreml/mlmodeldescription/inputdescriptionsbyname
    open var inputDescriptionsByName: [String: MLFeatureDescription] { fatalError() }
}

// https://developer.apple.com/documentation/coreml/mlmultiarray
@available(iOS 11.0, *)
open class MLMultiArray: NSObject {
    // https://developer.apple.com/documentation/coreml/mlmultiarray/init(shape:datatype:)
    public init(shape: [NSNumber], dataType: MLMultiArrayDataType) throws { fatalError() }
    // https://developer.apple.com/documentation/coreml/mlmultiarray/count
    open var count: Int { fatalError() }
    // https://developer.apple.com/documentation/coreml/mlmultiarray/datatype
    open var dataType: MLMultiArrayDataType { fatalError() }
    // https://developer.apple.com/documentation/coreml/mlmultiarray/subscript(_:)-2hh91
    open subscript(idx: Int) -> NSNumber { get { fatalError() } set { fatalError() } }
}

// https://developer.apple.com/documentation/coreml/mlfeaturevalue
@available(iOS 11.0, *)
open class MLFeatureValue: NSObject {
    // https://developer.apple.com/documentation/coreml/mlfeaturevalue/init(multiarray:)
    public convenience init(multiArray value: MLMultiArray) { fatalError() }
    // https://developer.apple.com/documentation/coreml/mlfeaturevalue/init(pixelbuffer:)
    public convenience init(pixelBuffer value: CVPixelBuffer) { fatalError() }
    // https://developer.apple.com/documentation/coreml/mlfeaturevalue/multiarrayvalue
    open var multiArrayValue: MLMultiArray? { fatalError() }
}

// https://developer.apple.com/documentation/coreml/mldictionaryfeatureprovider
@available(iOS 11.0, *)
open class MLDictionaryFeatureProvider: NSObject, MLFeatureProvider {
    // https://developer.apple.com/documentation/coreml/mldictionaryfeatureprovider/init(dictionary:)
    public init(dictionary: [String: Any]) throws { fatalError() }
    // MLFeatureProvider's requirements (pages above)
    open var featureNames: Set<String> { fatalError() }
    open func featureValue(for featureName: String) -> MLFeatureValue? { fatalError() }
}

// https://developer.apple.com/documentation/coreml/mlmodel
@available(iOS 11.0, *)
open class MLModel: NSObject {
    // https://developer.apple.com/documentation/coreml/mlmodel/compilemodel(at:)-6442s
    // (the synchronous form; its page marks it deprecated from iOS 27 in favour of the async one)
    @available(iOS, introduced: 11.0, deprecated: 27.0)
    open class func compileModel(at modelURL: URL) throws -> URL { fatalError() }

    // https://developer.apple.com/documentation/coreml/mlmodel/init(contentsof:configuration:)
    @available(iOS 12.0, *)
    public convenience init(contentsOf url: URL, configuration: MLModelConfiguration) throws { fatalError() }

    // https://developer.apple.com/documentation/coreml/mlmodel/modeldescription
    open var modelDescription: MLModelDescription { fatalError() }

    // https://developer.apple.com/documentation/coreml/mlmodel/prediction(from:)-9y2aa
    open func prediction(from input: any MLFeatureProvider) throws -> any MLFeatureProvider { fatalError() }
}
