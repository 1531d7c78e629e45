import Foundation
import Hummingbird
import ImageIO
import NIOCore
import RobustSynthHost

/// The studio's JSON routes for composing and running: the schema and examples the form is
/// built from, validation at the form's fields, the queue, uploads. Every POST needs the
/// session token; every failure is a 4xx with `{"error": "..."}` (or `problems` at fields).
struct StudioAPI: @unchecked Sendable {   // its catalog is only read
    let runs: String
    let catalog: PluginCatalog
    let examples: String?
    let jobs: StudioJobs
    let token: String

    /// The most a JSON request may be (a spec is a few kB).
    static let maxJSON = 1 << 20

    /// What the form sends: a run folder name and the spec as JSON.
    struct Draft: Decodable {
        var name: String?
        var spec: [String: SpecValue]
    }

    struct Failure: Error {
        let status: HTTPResponse.Status
        let body: [String: AnyEncodable]
        init(_ status: HTTPResponse.Status, _ message: String) { self.status = status; body = ["error": AnyEncodable(message)] }
        init(_ status: HTTPResponse.Status, problems: [SpecDraft.Problem], yaml: String) {
            self.status = status
            body = ["error": AnyEncodable("the spec has \(problems.count) problem\(problems.count == 1 ? "" : "s")"),
                    "problems": AnyEncodable(problems), "yaml": AnyEncodable(yaml)]
        }
    }

    func add(to router: Router<BasicRequestContext>) {
        let api = self
        router.get("/api/schema") { _, _ in
            let schema = JSONSchema.pipeline(plugins: api.catalog.plugins.map(\.info))
            let data = try JSONSerialization.data(withJSONObject: schema, options: [.sortedKeys, .withoutEscapingSlashes])
            return Self.bytes(.ok, "application/json", data)
        }
        router.get("/api/examples") { _, _ in
            Self.json(.ok, ["examples": api.examples.map { StudioExamples.list($0, catalog: api.catalog) } ?? []])
        }
        router.get("/api/jobs") { _, _ in Self.json(.ok, ["jobs": api.jobs.list()]) }
        router.post("/api/validate") { request, _ in
            await api.guarded(request) { body in
                let draft = try Self.decode(Draft.self, body)
                let name = draft.name.flatMap { StudioPaths.isPlainName($0) ? $0 : nil } ?? "draft"
                let text = api.text(draft.spec, name: name)
                switch SpecDraft.validate(text, path: api.specPath(name), catalog: api.catalog) {
                case .success: return Self.json(.ok, ["ok": AnyEncodable(true), "yaml": AnyEncodable(text.yaml)])
                case .failure(let problems):
                    return Self.json(.ok, ["ok": AnyEncodable(false), "yaml": AnyEncodable(text.yaml), "problems": AnyEncodable(problems.list)])
                }
            }
        }
        router.post("/api/parse") { request, _ in
            await api.guarded(request) { body in
                // A pasted spec has no folder of its own: its relative paths are taken from the
                // folder the studio was started in.
                let cwd = FileManager.default.currentDirectoryPath
                guard let spec = SpecDraft.parse(String(decoding: body, as: UTF8.self), base: cwd, catalog: api.catalog) else {
                    throw Failure(.unprocessableContent, "the text is not a YAML mapping (a spec starts with 'version: 1')")
                }
                return Self.json(.ok, ["spec": spec])
            }
        }
        router.post("/api/jobs") { request, _ in
            await api.guarded(request) { body in
                let draft = try Self.decode(Draft.self, body)
                guard let name = draft.name, StudioPaths.isPlainName(name), name != "data" else {
                    throw Failure(.badRequest, "a run needs a name of letters, digits, '.', '-' and '_' (not 'data', not starting with '.'): it is the run's folder under the runs folder")
                }
                let text = api.text(draft.spec, name: name)
                let path = api.specPath(name)
                if case .failure(let problems) = SpecDraft.validate(text, path: path, catalog: api.catalog) {
                    throw Failure(.unprocessableContent, problems: problems.list, yaml: text.yaml)
                }
                do {
                    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                            withIntermediateDirectories: true)
                    try AtomicFile.write(Data(text.yaml.utf8), to: path)
                } catch { throw Failure(.internalServerError, "cannot write the spec: \(error)") }
                do { return Self.json(.created, try api.jobs.submit(name: name, spec: path)) } catch let r as StudioJobs.Refusal {
                    throw Failure(.conflict, r.description)
                }
            }
        }
        router.post("/api/jobs/:id/cancel") { request, context in
            await api.guarded(request) { _ in
                guard let id = context.parameters.get("id").flatMap({ Int($0) }), let job = api.jobs.cancel(id) else {
                    throw Failure(.notFound, "no such job")
                }
                return Self.json(.ok, job)
            }
        }
        router.post("/api/uploads") { request, _ in
            await api.guarded(request, limit: StudioUploads.maxBytes) { body in
                let q = request.uri.queryParameters
                let folder = q["folder"].flatMap { String($0).removingPercentEncoding } ?? ""
                let name = q["name"].flatMap { String($0).removingPercentEncoding } ?? ""
                switch StudioUploads.store([UInt8](body), folder: folder, name: name, runs: api.runs) {
                case .success(let stored): return Self.json(.created, stored)
                case .failure(let r): throw Failure(HTTPResponse.Status(code: r.status), r.description)
                }
            }
        }
    }

    /// The spec file of run `name`, kept beside the run folders (not in the run's own folder,
    /// which must stay exactly what `rsynth run` writes).
    func specPath(_ name: String) -> String { runs + "/.studio/specs/" + name + ".yaml" }

    func text(_ spec: [String: SpecValue], name: String) -> SpecDraft.Text {
        SpecDraft.yaml(spec, header: "Written by rsynth studio. Run it again with:\n  rsynth run \(specPath(name)) --out \(runs)/\(name)")
    }

    /// The token checked, the body read (at most `limit` bytes), `body` run; a Failure becomes
    /// its status and message.
    func guarded(_ request: Request, limit: Int = maxJSON, _ body: (Data) async throws -> Response) async -> Response {
        guard request.headers.first(where: { $0.name.canonicalName == "x-rsynth-token" })?.value == token else {
            return Self.json(.forbidden, ["error": "missing or wrong session token: reload the studio's page"])
        }
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: limit)
            return try await body(Data(buffer.readableBytesView))
        } catch is NIOTooManyBytesError {
            return Self.json(.contentTooLarge, ["error": "the request is larger than the limit of \(limit) bytes"])
        } catch let f as Failure {
            return Self.json(f.status, f.body)
        } catch {
            return Self.json(.badRequest, ["error": "\(error)"])
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ body: Data) throws -> T {
        do { return try JSONDecoder().decode(type, from: body) } catch {
            throw Failure(.badRequest, "the request is not the JSON expected: \(Self.describe(error))")
        }
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "'\(key.stringValue)' is missing"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c), DecodingError.dataCorrupted(let c):
            let at = c.codingPath.map(\.stringValue).joined(separator: ".")
            return (at.isEmpty ? "" : "at '\(at)': ") + c.debugDescription
        default: return "\(error)"
        }
    }

    static func json<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return bytes(status, "application/json", (try? encoder.encode(value)) ?? Data("{}".utf8))
    }

    static func bytes(_ status: HTTPResponse.Status, _ type: String, _ data: Data) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Any Encodable, for replies that mix kinds of values.
struct AnyEncodable: Encodable, @unchecked Sendable {
    let encode: (Encoder) throws -> Void
    init<T: Encodable>(_ value: T) { encode = value.encode }
    func encode(to encoder: Encoder) throws { try encode(encoder) }
}
