/// The classes of a classifier: names by index, and resolution of what a user writes
/// (an index, a WordNet id, a name or one of its lemmas, case-insensitive) to an index.
public struct ClassLabels: Sendable {
    public let names: [String]
    public let wordNetIDs: [String]?
    private let lookup: [String: Int]

    public init(names: [String], wordNetIDs: [String]? = nil, aliases: [[String]] = []) {
        self.names = names
        self.wordNetIDs = wordNetIDs
        var lookup = [String: Int]()
        // Lemmas first, so that unique names and WordNet ids win where a lemma is shared
        // (the lemma "crane" is both 134 and 517; the unique name "crane" is 517).
        for (i, list) in aliases.enumerated() {
            for alias in list where lookup[alias.lowercased()] == nil { lookup[alias.lowercased()] = i }
        }
        for (i, name) in names.enumerated() { lookup[name.lowercased()] = i }
        if let ids = wordNetIDs { for (i, id) in ids.enumerated() { lookup[id.lowercased()] = i } }
        self.lookup = lookup
    }

    public var count: Int { names.count }

    /// The 1000 ImageNet classes, in torchvision's order.
    public static let imageNet: ClassLabels = {
        var names = [String](), ids = [String](), aliases = [[String]]()
        for line in imageNetClassTableText.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            ids.append(fields[0]); names.append(fields[1])
            aliases.append(fields[2].components(separatedBy: ", "))
        }
        return ClassLabels(names: names, wordNetIDs: ids, aliases: aliases)
    }()

    /// Classes named by their index ("0", "1", ...), for classifiers without a name table.
    public static func numbered(_ count: Int) -> ClassLabels {
        ClassLabels(names: (0..<count).map(String.init))
    }

    /// The index that `text` names, or nil.
    public func resolve(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let i = Int(t), i >= 0, i < count { return i }
        return lookup[t.lowercased()]
    }

    /// The closest class name to an unknown `text`, for "did you mean".
    public func suggestion(for text: String) -> String? {
        closestMatch(to: text, in: names)
    }

    public func name(_ index: Int) -> String {
        index >= 0 && index < names.count ? names[index] : "class \(index)"
    }
}

import Foundation
