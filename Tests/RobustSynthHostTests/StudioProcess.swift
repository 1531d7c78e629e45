import Foundation
import RSynthTestSupport

/// `rsynth studio --port 0` over a runs folder, its address read from the line it prints first.
struct StudioProcess {
    let process: Process
    let base: String
    let firstLine: String

    init(runs: URL, arguments: [String] = []) {
        let p = Process()
        p.executableURL = TestSupport.rsynth
        p.arguments = ["studio", "--runs", runs.path, "--port", "0"] + arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try! p.run()
        var text = ""
        // Hummingbird's own log line may come first: read until rsynth's line with the address.
        while !text.contains("rsynth studio: ") || !text[text.range(of: "rsynth studio: ")!.lowerBound...].contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let line = text.split(separator: "\n").first { $0.hasPrefix("rsynth studio: ") }.map { String($0) + "\n" } ?? text
        let url = line.split(separator: " ").first { $0.hasPrefix("http://") }.map(String.init) ?? ""
        precondition(!url.isEmpty, "rsynth studio printed: \(text)")
        process = p; base = url; firstLine = line
    }

    func stop() {
        process.interrupt()
        process.waitUntilExit()
    }
}

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Requests to a studio, as sent (no client-side normalisation of the path).
struct StudioClient {
    let base: String

    struct Reply {
        let status: Int
        let type: String
        let body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
    }

    func get(_ path: String) throws -> Reply { try send(path, method: "GET", body: nil, headers: [:]) }

    /// POST with the session token unless `token` is nil.
    func post(_ path: String, _ body: Data, token: String?, type: String = "application/json") throws -> Reply {
        var headers = ["Content-Type": type]
        if let token { headers["X-RSynth-Token"] = token }
        return try send(path, method: "POST", body: body, headers: headers)
    }

    func post(_ path: String, json: Any, token: String?) throws -> Reply {
        try post(path, JSONSerialization.data(withJSONObject: json), token: token)
    }

    /// The token the page carries.
    func token() throws -> String {
        let page = try get("").text
        guard let r = page.range(of: #"<meta name="rsynth-token" content=""#) else { return "" }
        return String(page[r.upperBound...].prefix { $0 != "\"" })
    }

    func send(_ path: String, method: String, body: Data?, headers: [String: String]) throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.httpBody = body
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        request.timeoutInterval = 120
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var reply: Reply?
        nonisolated(unsafe) var failure: Error?
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let h = response as? HTTPURLResponse {
                reply = Reply(status: h.statusCode, type: h.value(forHTTPHeaderField: "Content-Type") ?? "", body: data ?? Data())
            }
            failure = error
            done.signal()
        }.resume()
        done.wait()
        if let failure { throw failure }
        return reply!
    }
}
