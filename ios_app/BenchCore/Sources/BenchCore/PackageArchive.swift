import Foundation

/// The model package arrives as one file. A .mlpackage is a folder, and public uses of `devicectl device copy to`
/// copy files (what it does with a folder is not documented where we could read it); so the host sends NAME.mlpackage as an uncompressed
/// POSIX ustar archive (Python's tarfile, devices/ios.py `pack_package`) and the app unpacks it into Documents
/// before the run. Foundation on iOS has no unarchiver, and ustar is simple enough to read here: 512-byte headers,
/// octal sizes, data padded to 512 bytes, two zero blocks at the end. Only what that writer makes is accepted:
/// regular files and directories under the one top folder, each header's checksum correct; anything else is refused
/// in one line, and a refused archive leaves no half-unpacked package behind.
public enum PackageArchive {
    public struct Entry: Equatable {
        public let path: String
        public let isDirectory: Bool
        public let contents: Data
    }

    /// Unpack `archive` into `folder`; it must hold `top` (e.g. "m.mlpackage") and nothing beside it. An older
    /// `folder/top` is replaced.
    public static func unpack(_ archive: URL, into folder: URL, expecting top: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: archive)
        } catch {
            throw BenchError.modelUnavailable("no model archive at \(archive.path)")
        }
        let entries = try read(data, name: archive.lastPathComponent)
        let outside = entries.first { $0.path != top && !$0.path.hasPrefix(top + "/") }
        guard !entries.isEmpty, outside == nil else {
            throw BenchError.modelUnavailable("\(archive.lastPathComponent) holds \(outside?.path ?? "nothing"), "
                                              + "not \(top) alone")
        }
        let manager = FileManager.default
        let destination = folder.appendingPathComponent(top)
        if manager.fileExists(atPath: destination.path) {
            try manager.removeItem(at: destination)
        }
        for entry in entries {
            let url = folder.appendingPathComponent(entry.path)
            if entry.isDirectory {
                try manager.createDirectory(at: url, withIntermediateDirectories: true)
            } else {
                try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try entry.contents.write(to: url)
            }
        }
    }

    /// Every entry of a ustar archive, in order.
    public static func read(_ data: Data, name: String = "archive") throws -> [Entry] {
        let bytes = [UInt8](data)
        var entries: [Entry] = []
        var offset = 0
        func refuse(_ why: String) -> BenchError {
            .modelUnavailable("\(name) is not a package archive: \(why) (at byte \(offset))")
        }
        while offset + 512 <= bytes.count {
            let header = Array(bytes[offset..<offset + 512])
            if header.allSatisfy({ $0 == 0 }) {
                return entries
            }
            guard text(header, 257, 5) == "ustar" else { throw refuse("no ustar header") }
            guard let stated = octal(header, 148, 8), stated == checksum(header) else { throw refuse("bad checksum") }
            guard let size = octal(header, 124, 12) else { throw refuse("bad size") }
            let prefix = text(header, 345, 155)
            var path = prefix.isEmpty ? text(header, 0, 100) : prefix + "/" + text(header, 0, 100)
            let type = header[156]
            if type == UInt8(ascii: "5"), path.hasSuffix("/") {
                path.removeLast()
            }
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            guard !path.isEmpty, !path.hasPrefix("/"), !parts.contains(".."), !parts.contains("") else {
                throw refuse("unsafe name \(path)")
            }
            let start = offset + 512
            guard start + size <= bytes.count else { throw refuse("\(path) is cut short") }
            switch type {
            case UInt8(ascii: "0"), 0:
                entries.append(Entry(path: path, isDirectory: false, contents: Data(bytes[start..<start + size])))
            case UInt8(ascii: "5"):
                entries.append(Entry(path: path, isDirectory: true, contents: Data()))
            default:
                throw refuse("\(path) is neither a file nor a folder (type \(Character(UnicodeScalar(type))))")
            }
            offset = start + (size + 511) / 512 * 512
        }
        throw refuse("no end-of-archive blocks")
    }

    /// A NUL-terminated field as text.
    static func text(_ header: [UInt8], _ at: Int, _ length: Int) -> String {
        let field = header[at..<at + length].prefix { $0 != 0 }
        return String(decoding: field, as: UTF8.self)
    }

    /// An octal number field (digits, then NUL or space).
    static func octal(_ header: [UInt8], _ at: Int, _ length: Int) -> Int? {
        let digits = text(header, at, length).trimmingCharacters(in: CharacterSet(charactersIn: " "))
        return digits.isEmpty ? nil : Int(digits, radix: 8)
    }

    /// The header's byte sum with its own checksum field counted as eight spaces (POSIX ustar).
    static func checksum(_ header: [UInt8]) -> Int {
        header.enumerated().reduce(0) { sum, item in sum + ((148..<156).contains(item.offset) ? 32 : Int(item.element)) }
    }
}
