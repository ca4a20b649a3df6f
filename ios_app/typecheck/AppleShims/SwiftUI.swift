// Declaration-only stand-in for Apple's SwiftUI, holding exactly what ios_app/BenchApp uses, so the Linux toolchain
// can type-check it (ios_app/typecheck/typecheck.sh). Never linked, never run: every body is fatalError(). Each
// declaration is transcribed from the Apple documentation page cited beside it; overloads the app does not reach
// are left out.
@_exported import Foundation
@_exported import AppleOnlyFoundation

// MARK: Views

// https://developer.apple.com/documentation/swiftui/view
// (as in Xcode 16's iOS 18 SDK; later SDKs spell the body's builder @ContentBuilder)
@available(iOS 13.0, *)
@MainActor @preconcurrency
public protocol View {
    associatedtype Body: View
    // https://developer.apple.com/documentation/swiftui/view/body-8kl5o
    @ViewBuilder @MainActor @preconcurrency var body: Self.Body { get }
}

// https://developer.apple.com/documentation/swift/never (conforms to View: the Body of primitive views)
extension Never: View {
    public typealias Body = Never
    public var body: Never { fatalError() }
}

// https://developer.apple.com/documentation/swiftui/viewbuilder
@available(iOS 13.0, *)
@resultBuilder
public struct ViewBuilder {
    // https://developer.apple.com/documentation/swiftui/viewbuilder/buildblock(_:)
    public static func buildBlock<Content>(_ content: Content) -> Content where Content: View { fatalError() }
    // https://developer.apple.com/documentation/swiftui/viewbuilder/buildblock(_:_:_:)
    // (three views; the parameter-pack form is iOS 17+, and the app deploys to iOS 16)
    public static func buildBlock<C0, C1, C2>(_ c0: C0, _ c1: C1, _ c2: C2) -> TupleView<(C0, C1, C2)>
        where C0: View, C1: View, C2: View { fatalError() }
}

// https://developer.apple.com/documentation/swiftui/tupleview
@available(iOS 13.0, *)
public struct TupleView<T>: View {
    public typealias Body = Never
    public var body: Never { fatalError() }
}

// https://developer.apple.com/documentation/swiftui/horizontalalignment
@available(iOS 13.0, *)
public struct HorizontalAlignment: Equatable {
    // https://developer.apple.com/documentation/swiftui/horizontalalignment/leading
    public static let leading: HorizontalAlignment = { fatalError() }()
    // https://developer.apple.com/documentation/swiftui/horizontalalignment/center
    public static let center: HorizontalAlignment = { fatalError() }()
}

// https://developer.apple.com/documentation/swiftui/vstack
@available(iOS 13.0, *)
public struct VStack<Content>: View where Content: View {
    // https://developer.apple.com/documentation/swiftui/vstack/init(alignment:spacing:content:)
    public init(alignment: HorizontalAlignment = .center, spacing: CGFloat? = nil,
                @ViewBuilder content: () -> Content) { fatalError() }
    public typealias Body = Never
    public var body: Never { fatalError() }
}

// https://developer.apple.com/documentation/swiftui/font
@available(iOS 13.0, *)
public struct Font: Hashable, Sendable {
    // https://developer.apple.com/documentation/swiftui/font/largetitle
    public static let largeTitle: Font = { fatalError() }()
    // https://developer.apple.com/documentation/swiftui/font/body
    public static let body: Font = { fatalError() }()
    // https://developer.apple.com/documentation/swiftui/font/footnote
    public static let footnote: Font = { fatalError() }()
}

// https://developer.apple.com/documentation/swiftui/localizedstringkey
@available(iOS 13.0, *)
public struct LocalizedStringKey: Equatable, ExpressibleByStringInterpolation {
    // https://developer.apple.com/documentation/swiftui/localizedstringkey/init(stringliteral:)
    public init(stringLiteral value: String) { fatalError() }
    // https://developer.apple.com/documentation/swiftui/localizedstringkey/init(stringinterpolation:)
    public init(stringInterpolation: LocalizedStringKey.StringInterpolation) { fatalError() }

    // https://developer.apple.com/documentation/swiftui/localizedstringkey/stringinterpolation
    public struct StringInterpolation: StringInterpolationProtocol {
        // https://developer.apple.com/documentation/swiftui/localizedstringkey/stringinterpolation/init(literalcapacity:interpolationcount:)
        public init(literalCapacity: Int, interpolationCount: Int) { fatalError() }
        // https://developer.apple.com/documentation/swiftui/localizedstringkey/stringinterpolation/appendliteral(_:)
        public mutating func appendLiteral(_ literal: String) { fatalError() }
        // https://developer.apple.com/documentation/swiftui/localizedstringkey/stringinterpolation/appendinterpolation(_:)
        // (the String overload)
        public mutating func appendInterpolation(_ string: String) { fatalError() }
    }
}

// https://developer.apple.com/documentation/swiftui/text
@available(iOS 13.0, *)
public struct Text: Equatable, Sendable, View {
    // A string literal picks this one (the page says so): it localizes.
    // https://developer.apple.com/documentation/swiftui/text/init(_:tablename:bundle:comment:)
    public init(_ key: LocalizedStringKey, tableName: String? = nil, bundle: Bundle? = nil,
                comment: StaticString? = nil) { fatalError() }
    // A stored string picks this one.
    // https://developer.apple.com/documentation/swiftui/text/init(_:)-9d1g4
    public init<S>(_ content: S) where S: StringProtocol { fatalError() }
    // https://developer.apple.com/documentation/swiftui/text/font(_:)
    public func font(_ font: Font?) -> Text { fatalError() }
    public typealias Body = Never
    public var body: Never { fatalError() }
}

// https://developer.apple.com/documentation/swiftui/shapestyle
@available(iOS 13.0, *)
public protocol ShapeStyle: Sendable {}

// https://developer.apple.com/documentation/swiftui/hierarchicalshapestyle
@available(iOS 15.0, *)
public struct HierarchicalShapeStyle: ShapeStyle {}

extension ShapeStyle where Self == HierarchicalShapeStyle {
    // https://developer.apple.com/documentation/swiftui/shapestyle/secondary
    @available(iOS 15.0, *)
    public static var secondary: HierarchicalShapeStyle { fatalError() }
}

// https://developer.apple.com/documentation/swiftui/edge/set
@available(iOS 13.0, *)
public enum Edge {
    public struct Set: OptionSet, Sendable {
        // https://developer.apple.com/documentation/swiftui/edge/set/init(rawvalue:)
        public init(rawValue: Int8) { fatalError() }
        public var rawValue: Int8 { fatalError() }
        // https://developer.apple.com/documentation/swiftui/edge/set/all
        public static let all: Edge.Set = { fatalError() }()
    }
}

@available(iOS 13.0, *)
extension View {
    // https://developer.apple.com/documentation/swiftui/view/padding(_:_:)
    public func padding(_ edges: Edge.Set = .all, _ length: CGFloat? = nil) -> some View { fatalErrorView() }
    // https://developer.apple.com/documentation/swiftui/view/foregroundstyle(_:)
    @available(iOS 15.0, *)
    public func foregroundStyle<S>(_ style: S) -> some View where S: ShapeStyle { fatalErrorView() }
    // https://developer.apple.com/documentation/swiftui/view/onappear(perform:)
    public func onAppear(perform action: (() -> Void)? = nil) -> some View { fatalErrorView() }
}

// An opaque `some View` result needs a concrete type to name; Never is a View, and this is never called.
private func fatalErrorView() -> Never { fatalError() }

// MARK: Scenes and the app

// https://developer.apple.com/documentation/swiftui/scene
@available(iOS 14.0, *)
@MainActor @preconcurrency
public protocol Scene {
    associatedtype Body: Scene
    // https://developer.apple.com/documentation/swiftui/scene/body-swift.property
    @SceneBuilder @MainActor @preconcurrency var body: Self.Body { get }
}

extension Never: Scene {}

// https://developer.apple.com/documentation/swiftui/scenebuilder
@available(iOS 14.0, *)
@resultBuilder
public struct SceneBuilder {
    // https://developer.apple.com/documentation/swiftui/scenebuilder/buildblock(_:)
    public static func buildBlock<Content>(_ content: Content) -> Content where Content: Scene { fatalError() }
}

// https://developer.apple.com/documentation/swiftui/windowgroup
@available(iOS 14.0, *)
public struct WindowGroup<Content>: Scene where Content: View {
    // https://developer.apple.com/documentation/swiftui/windowgroup/init(content:)
    public init(@ViewBuilder content: () -> Content) { fatalError() }
    public typealias Body = Never
    public var body: Never { fatalError() }
}

// https://developer.apple.com/documentation/swiftui/app
@available(iOS 14.0, *)
@MainActor @preconcurrency
public protocol App {
    associatedtype Body: Scene
    // https://developer.apple.com/documentation/swiftui/app/body-swift.property
    @SceneBuilder @MainActor @preconcurrency var body: Self.Body { get }
    // https://developer.apple.com/documentation/swiftui/app/init()
    @MainActor @preconcurrency init()
}

@available(iOS 14.0, *)
extension App {
    // https://developer.apple.com/documentation/swiftui/app/main()
    @MainActor @preconcurrency public static func main() { fatalError() }
}
