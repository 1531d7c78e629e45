import Foundation
import RobustSynthHost

/// A pipeline spec (YAML) through `SpecValidator.validate(text:path:catalog:)` with an empty plugin
/// catalog: YAML parsing (Yams / libyaml), the section and key checks, and the diagnostics for
/// unknown plugins. Loading the built plugins into the fuzzer is left out (see Fuzz/README.md).
private let report = ProcessInfo.processInfo.environment["FUZZ_REPORT"] != nil
private let catalog = PluginCatalog(plugins: [], failures: [])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // The CLI reads a spec as UTF-8 and refuses other bytes before validating.
    guard let text = String(bytes: UnsafeBufferPointer(start: data, count: size), encoding: .utf8) else { return -1 }
    switch SpecValidator.validate(text: text, path: "fuzz.yaml", catalog: catalog) {
    case .success: break
    case .failure(let errors):
        if report { FileHandle.standardError.write(Data("\(errors.diagnostics.count) diagnostics, first: \(errors.diagnostics[0])\n".utf8)) }
        precondition(!errors.diagnostics.isEmpty, "a failure without a diagnostic")
    }
    return 0
}
