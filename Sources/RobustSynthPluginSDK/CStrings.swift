#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A C string that lives as long as the plugin (descriptors and declarations are never freed:
/// plugins are never unloaded).
func permanentCString(_ s: String) -> UnsafePointer<CChar> {
    UnsafePointer(strdup(s)!)
}

/// A NULL-terminated array of permanent C strings.
func permanentCStringArray(_ strings: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
    let array = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: strings.count + 1)
    for (i, s) in strings.enumerated() { array[i] = permanentCString(s) }
    array[strings.count] = nil
    return UnsafePointer(array)
}

/// A NULL-terminated array of C strings owned by one instance (freed with it, InstanceBox).
func ownedCStringArray(_ strings: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
    permanentCStringArray(strings)
}
