/// What the runner must feed a model, platform-free so the rules are tested on Linux: every input the model
/// declares gets a value (multi-input models included), filled once with the same deterministic numbers.
public struct InputSpec: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case multiArray(shape: [Int])
        case image(width: Int, height: Int)
    }

    public var name: String
    public var kind: Kind

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    /// Elements of a multiarray, or bytes of a BGRA image.
    public var count: Int {
        switch kind {
        case .multiArray(let shape): return shape.reduce(1, *)
        case .image(let width, let height): return width * height * 4
        }
    }
}

public enum InputFill {
    /// Deterministic, non-constant values in [-0.5, 0.5): no all-zero input a runtime could shortcut.
    public static func value(at index: Int) -> Float {
        Float((index * 7919) % 255) / 255.0 - 0.5
    }

    /// The byte at `index` of an image input (the same sequence, scaled to 0...254).
    public static func byte(at index: Int) -> UInt8 {
        UInt8((index * 7919) % 255)
    }

    /// All inputs in name order; an empty list, a duplicate name or an empty shape is an error naming it.
    public static func plan(_ specs: [InputSpec]) throws -> [InputSpec] {
        guard !specs.isEmpty else { throw BenchError.modelUnavailable("model has no inputs") }
        var seen = Set<String>()
        for spec in specs {
            guard seen.insert(spec.name).inserted else {
                throw BenchError.modelUnavailable("input \(spec.name) is declared twice")
            }
            guard spec.count > 0 else {
                throw BenchError.modelUnavailable("input \(spec.name) has an empty or flexible shape")
            }
        }
        return specs.sorted { $0.name < $1.name }
    }
}
