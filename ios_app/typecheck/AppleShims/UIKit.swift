// Declaration-only stand-in for Apple's UIKit, holding exactly what ios_app/BenchApp uses, so the Linux toolchain
// can type-check it (ios_app/typecheck/typecheck.sh). Never linked, never run: every body is fatalError(). Each
// declaration is transcribed from the Apple documentation page cited beside it.
@_exported import Foundation
@_exported import AppleOnlyFoundation

// https://developer.apple.com/documentation/uikit/uiresponder (UIApplication's superclass; nothing of it is used)
@available(iOS 2.0, *)
@MainActor @preconcurrency
open class UIResponder: NSObject {}

// https://developer.apple.com/documentation/uikit/uiapplication
@available(iOS 2.0, *)
@MainActor @preconcurrency
open class UIApplication: UIResponder {
    // https://developer.apple.com/documentation/uikit/uiapplication/shared
    open class var shared: UIApplication { fatalError() }
    // https://developer.apple.com/documentation/uikit/uiapplication/isidletimerdisabled
    open var isIdleTimerDisabled: Bool { get { fatalError() } set { fatalError() } }
}

// https://developer.apple.com/documentation/uikit/uidevice
@available(iOS 2.0, *)
@MainActor @preconcurrency
open class UIDevice: NSObject {
    // https://developer.apple.com/documentation/uikit/uidevice/current
    open class var current: UIDevice { fatalError() }
    // https://developer.apple.com/documentation/uikit/uidevice/systemname
    open var systemName: String { fatalError() }
    // https://developer.apple.com/documentation/uikit/uidevice/systemversion
    open var systemVersion: String { fatalError() }
}
