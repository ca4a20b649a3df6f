// Declaration-only stand-in for Apple's CoreVideo, holding exactly what ios_app uses, so the Linux toolchain can
// type-check the Core ML half of the app (ios_app/typecheck/typecheck.sh). Never linked, never run: every body is
// fatalError(). Each declaration is transcribed from the Apple documentation page cited beside it.
//
// CoreFoundation (CFAllocator, CFDictionary, kCFAllocatorDefault, OSType) is the real one: Linux Swift ships it, and
// CoreVideo re-exports it on Apple platforms too.
@_exported import CoreFoundation

// https://developer.apple.com/documentation/corevideo/cvreturn
public typealias CVReturn = Int32

// https://developer.apple.com/documentation/corevideo/cvoptionflags
public typealias CVOptionFlags = UInt64

// https://developer.apple.com/documentation/corevideo/cvbuffer (a Core Foundation type: no public initializer)
public final class CVBuffer {
    private init() { fatalError() }
}

// https://developer.apple.com/documentation/corevideo/cvimagebuffer
public typealias CVImageBuffer = CVBuffer

// https://developer.apple.com/documentation/corevideo/cvpixelbuffer
public typealias CVPixelBuffer = CVImageBuffer

// https://developer.apple.com/documentation/corevideo/cvpixelbufferlockflags
public struct CVPixelBufferLockFlags: OptionSet, Sendable {
    // https://developer.apple.com/documentation/corevideo/cvpixelbufferlockflags/init(rawvalue:)
    public init(rawValue: CVOptionFlags) { fatalError() }
    public var rawValue: CVOptionFlags { fatalError() }
    // https://developer.apple.com/documentation/corevideo/cvpixelbufferlockflags/readonly
    public static var readOnly: CVPixelBufferLockFlags { fatalError() }
}

// https://developer.apple.com/documentation/corevideo/kcvpixelformattype_32bgra
public var kCVPixelFormatType_32BGRA: OSType { fatalError() }

// C functions: Swift discards their results silently, hence @discardableResult here.

// https://developer.apple.com/documentation/corevideo/cvpixelbuffercreate(_:_:_:_:_:_:)
@discardableResult
public func CVPixelBufferCreate(_ allocator: CFAllocator?, _ width: Int, _ height: Int, _ pixelFormatType: OSType,
                                _ pixelBufferAttributes: CFDictionary?,
                                _ pixelBufferOut: UnsafeMutablePointer<CVPixelBuffer?>) -> CVReturn { fatalError() }

// https://developer.apple.com/documentation/corevideo/cvpixelbufferlockbaseaddress(_:_:)
@discardableResult
public func CVPixelBufferLockBaseAddress(_ pixelBuffer: CVPixelBuffer,
                                         _ lockFlags: CVPixelBufferLockFlags) -> CVReturn { fatalError() }

// https://developer.apple.com/documentation/corevideo/cvpixelbufferunlockbaseaddress(_:_:)
@discardableResult
public func CVPixelBufferUnlockBaseAddress(_ pixelBuffer: CVPixelBuffer,
                                           _ unlockFlags: CVPixelBufferLockFlags) -> CVReturn { fatalError() }

// https://developer.apple.com/documentation/corevideo/cvpixelbuffergetbaseaddress(_:)
@discardableResult
public func CVPixelBufferGetBaseAddress(_ pixelBuffer: CVPixelBuffer) -> UnsafeMutableRawPointer? { fatalError() }

// https://developer.apple.com/documentation/corevideo/cvpixelbuffergetbytesperrow(_:)
@discardableResult
public func CVPixelBufferGetBytesPerRow(_ pixelBuffer: CVPixelBuffer) -> Int { fatalError() }
