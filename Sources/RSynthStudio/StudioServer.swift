import Foundation
import Hummingbird
import NIOCore

/// `rsynth studio`: a local web app over a runs folder, served by Hummingbird. This slice is
/// read-only: the gallery (`GET /api/runs`, filterable by task, classifier and class), every
/// file of a run folder (`GET /files/<run>/<file>`, the run page being its index.html), and the
/// page that shows them (`GET /`: gallery, run page, two runs side by side). Only files inside
/// the runs folder are served (StudioPaths); a bad request gets a 4xx with a one-line reason.
public struct StudioServer {
    public let runs: String
    public let host: String
    public let port: Int

    /// `runs` must exist; it is resolved to its real path once, here.
    public init(runs: String, host: String, port: Int) throws {
        guard let real = StudioPaths.realPath(runs) else {
            throw StudioError("runs folder \(runs) does not exist: run a spec first (rsynth run SPEC --out \(runs)/NAME) or pass --runs DIR")
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isDir), isDir.boolValue else {
            throw StudioError("runs folder \(runs) is not a folder")
        }
        self.runs = real; self.host = host; self.port = port
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let runs = self.runs
        let cache = RunGallery.Cache()
        let page = StudioPage.html(runs: runs)
        router.get("/") { _, _ in
            Self.response(.ok, "text/html; charset=utf-8", page)
        }
        router.get("/api/runs") { request, _ in
            let q = request.uri.queryParameters
            func value(_ key: String) -> String? {
                q[Substring(key)].flatMap { String($0).removingPercentEncoding }.flatMap { $0.isEmpty ? nil : $0 }
            }
            let entries = RunGallery.filter(RunGallery.scan(runs, cache: cache), task: value("task"), classifier: value("classifier"),
                                            targetClass: value("class"))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let body = String(decoding: try encoder.encode(["runs": entries]), as: UTF8.self)
            return Self.response(.ok, "application/json", body)
        }
        router.get("/files/**") { request, _ in
            // The raw path, not the router's decoded parameters: StudioPaths decodes it once itself.
            let raw = String(request.uri.path.dropFirst("/files/".count))
            switch StudioPaths.resolve(raw, under: runs) {
            case .failure(let why):
                return Self.response(why.description == "no such file" || why.description == "no file named" ? .notFound : .forbidden,
                                     "text/plain; charset=utf-8", "rsynth studio: \(why.description): \(raw)\n")
            case .success(let file):
                guard let data = FileManager.default.contents(atPath: file) else {
                    return Self.response(.notFound, "text/plain; charset=utf-8", "rsynth studio: cannot read \(raw)\n")
                }
                var headers = HTTPFields()
                headers[.contentType] = StudioPaths.contentType(file)
                headers[.cacheControl] = "no-cache"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
            }
        }
        return router
    }

    static func response(_ status: HTTPResponse.Status, _ type: String, _ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Serves until the process ends; `ready` gets the URL once the port is bound (the port the
    /// system chose when `port` is 0).
    public func run(ready: @escaping @Sendable (String) -> Void) async throws {
        let host = self.host
        let app = Application(
            router: router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "rsynth-studio"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? 0
                ready("http://\(host.contains(":") ? "[\(host)]" : host):\(bound)/")
            })
        try await app.runService()
    }
}

public struct StudioError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
