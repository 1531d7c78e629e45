import RobustSynthCore

/// The engine's own parameters, declared and read once for every classifier plugin built on it
/// (robust-resnet50, resnet50, digits-resnet): the choices come from the
/// backend registry and the precision enum.
public enum EngineParameters {
    public static let declarations: [ParameterDecl] = [
        ParameterDecl("backend", .string, default: .string(ResNet.Backend.onednn.rawValue),
                      choices: ResNet.Backend.allCases.map(\.rawValue),
                      doc: ResNetBackends.all.map { "\($0.name): \($0.summary)" }.joined(separator: "; ")),
        ParameterDecl("precision", .string, default: .string(ResNet.Precision.float32.rawValue),
                      choices: ResNet.Precision.allCases.map(\.rawValue),
                      doc: "onednn only: bfloat16 is about twice as fast on AVX512-BF16 CPUs; its gradients are about 3% from float32 on a trained model"),
    ]

    public static func backend(_ p: ParameterValues) throws -> ResNet.Backend {
        try parse(p.string("backend"), "backend")
    }

    public static func precision(_ p: ParameterValues) throws -> ResNet.Precision {
        try parse(p.string("precision"), "precision")
    }

    private static func parse<T: RawRepresentable & CaseIterable>(_ text: String, _ name: String) throws -> T
        where T.RawValue == String
    {
        guard let v = T(rawValue: text) else {
            throw ResNetError("\(name) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")); got '\(text)'")
        }
        return v
    }
}
