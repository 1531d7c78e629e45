import Foundation
import Hummingbird
import NIOCore
import RobustSynthHost

/// `rsynth studio`: a local web app over a runs folder, served by Hummingbird.
/// - Reading: the gallery (`GET /api/runs`, filterable by task, classifier and class), every
///   file of a run folder (`GET /files/<run>/<file>`, the run page being its index.html), the
///   pipeline's JSON Schema the form is built from (`/api/schema`), the example specs it can
///   start from (`/api/examples`), the queue (`/api/jobs`), and the page (`GET /`).
/// - Changing (POST, each with the page's per-session token in `X-RSynth-Token`): validate a
///   draft (`/api/validate`), read pasted YAML (`/api/parse`), queue a run (`/api/jobs`),
///   cancel one (`/api/jobs/ID/cancel`), store an image (`/api/uploads`).
/// Only files inside the runs folder and the examples are read, only RUNS/NAME, RUNS/data and
/// RUNS/.studio are written (StudioPaths); a bad request gets a 4xx with a one-line reason.
public struct StudioServer {
    public let runs: String
    public let host: String
    public let port: Int
    let catalog: PluginCatalog
    let examples: String?
    let jobs: StudioJobs
    /// The page carries it; every POST must send it back, so another site's page cannot make
    /// this server run or store anything (it cannot read the page to learn the token).
    public let token: String

    /// `runs` must exist; it is resolved to its real path once, here. Runs are started as
    /// `executable run ... extraRunArguments`.
    public init(runs: String, host: String, port: Int, catalog: PluginCatalog, executable: URL,
                extraRunArguments: [String] = [], examples: String?) throws {
        guard let real = StudioPaths.realPath(runs) else {
            throw StudioError("runs folder \(runs) does not exist: run a spec first (rsynth run SPEC --out \(runs)/NAME) or pass --runs DIR")
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isDir), isDir.boolValue else {
            throw StudioError("runs folder \(runs) is not a folder")
        }
        self.runs = real; self.host = host; self.port = port
        self.catalog = catalog; self.examples = examples
        self.jobs = StudioJobs(executable: executable, runs: real, extraArguments: extraRunArguments)
        var bytes = [UInt8](repeating: 0, count: 24)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        token = bytes.map { String(format: "%02x", $0) }.joined()
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let runs = self.runs
        let cache = RunGallery.Cache()
        let page = StudioPage.html(runs: runs, token: token)
        router.get("/") { _, _ in
            Self.response(.ok, "text/html; charset=utf-8", page)
        }
        router.get("/app/:file") { _, context in
            guard let name = context.parameters.get("file"), let script = StudioScripts.named(name) else {
                return Self.response(.notFound, "text/plain; charset=utf-8", "rsynth studio: no such script\n")
            }
            return Self.response(.ok, "text/javascript; charset=utf-8", script)
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
        StudioAPI(runs: runs, catalog: catalog, examples: examples, jobs: jobs, token: token).add(to: router)
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
        jobs.stop()
    }
}

public struct StudioError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
