// Guard against a vacuous pass: CoreMLRunner.swift and BenchApp.swift compile their Apple parts only where
// canImport(CoreML) / canImport(UIKit) hold, so the type-check first proves the stand-ins are on the import path.
#if !canImport(CoreML) || !canImport(CoreVideo) || !canImport(UIKit) || !canImport(SwiftUI)
#error("the AppleShims modules are not on the import path: the Apple code would be skipped, not checked")
#endif
import BenchCore
let probe: CoreMLRunner.Type = CoreMLRunner.self
