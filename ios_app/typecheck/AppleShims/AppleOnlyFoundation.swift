// Apple Foundation members that swift-corelibs-foundation (Foundation on Linux) lacks and ios_app uses. Everything
// else the app takes from Foundation (URL, Data, FileManager, Bundle, NSNumber, ProcessInfo itself) is the real Linux
// Foundation, never redeclared here. The UIKit, SwiftUI and CoreML stand-ins re-export this module, as their Apple
// originals re-export Foundation. Declarations only: every body is fatalError().
import Foundation

extension ProcessInfo {
    // https://developer.apple.com/documentation/foundation/processinfo/thermalstate-swift.enum
    // (raw values as the Xamarin/.NET binding of NSProcessInfoThermalState lists them)
    @available(iOS 11.0, *)
    public enum ThermalState: Int, @unchecked Sendable {
        // https://developer.apple.com/documentation/foundation/processinfo/thermalstate-swift.enum/nominal
        case nominal = 0
        // https://developer.apple.com/documentation/foundation/processinfo/thermalstate-swift.enum/fair
        case fair = 1
        // https://developer.apple.com/documentation/foundation/processinfo/thermalstate-swift.enum/serious
        case serious = 2
        // https://developer.apple.com/documentation/foundation/processinfo/thermalstate-swift.enum/critical
        case critical = 3
    }

    // https://developer.apple.com/documentation/foundation/processinfo/thermalstate-swift.property
    @available(iOS 11.0, *)
    public var thermalState: ProcessInfo.ThermalState { fatalError() }
}
