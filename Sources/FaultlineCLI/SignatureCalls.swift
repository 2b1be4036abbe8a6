import Faultline

extension InputFormat where Input == [Value] {
    /// One JSON array of the values of `signature`'s parameters that take
    /// input (``Signature/parseInput(_:)`` applies every rule); the problem
    /// names the value and quotes at most 80 characters of it.
    static func signature(_ signature: Signature) -> InputFormat<[Value]> {
        InputFormat { text in
            do throws(InputError) {
                return .success(try signature.parseInput(text))
            } catch {
                // `InputProblem` already says "input N: malformed input '…'": drop the library's own "input: ".
                let sentence = error.description
                let problem = sentence.hasPrefix("input: ") ? String(sentence.dropFirst("input: ".count)) : sentence
                return .failure(.init(problem: problem))
            }
        }
    }
}

/// Why `--init SYMBOL` ended the run before any input was called: the
/// initializer's own failure, never blamed on an input.
struct InitError: Error, CustomStringConvertible {
    /// What the initializer did.
    enum Kind {
        /// It returned this non-zero status.
        case returned(Int64)
        /// A signal ended it.
        case crashed(Fault)
        /// It called `exit(status)`.
        case exited(Int32)
        /// It passed the deadline.
        case timedOut(Double)
        /// Faultline's record of the call was destroyed.
        case corrupted(String)
        /// It returned something that is not an `int`.
        case unexpected(String)
    }

    /// The initializer's symbol.
    var symbol: String
    /// What happened.
    var kind: Kind

    /// The error for an initializer's outcome, or nil when it returned 0.
    init?(symbol: String, outcome: Outcome) {
        self.symbol = symbol
        switch outcome {
        case .returned(let value, _):
            guard let status = value.integer else { kind = .unexpected(value.description); return }
            if status == 0 { return nil }
            kind = .returned(status)
        case .signaled(let fault): kind = .crashed(fault)
        case .exited(let status): kind = .exited(status)
        case .timedOut(let after): kind = .timedOut(after.seconds)
        case .corrupted(let detail): kind = .corrupted(detail)
        }
    }

    /// `init 'setup' returned 7`, `init 'setup' crashed: SIGSEGV at 0x0` (as the pool says it).
    var description: String {
        let name = "init '\(Quote80.short(symbol))'"
        return switch kind {
        case .returned(let status): "\(name) returned \(status)"
        case .crashed(let fault): "\(name) crashed: \(fault.signal.name)" + (fault.address.map { " at 0x\(String($0, radix: 16))" } ?? "")
        case .exited(let status): "\(name) called exit(\(status))"
        case .timedOut(let seconds): "\(name) did not return within \(seconds) s"
        case .corrupted(let detail): "\(name): no trustworthy record of its call: \(Quote80.short(detail))"
        case .unexpected(let value): "\(name) returned \(value), not an int"
        }
    }
}

/// A strategy that cannot run what was asked of it in this build (its API has not landed).
struct UnsupportedError: Error, CustomStringConvertible {
    /// The option that is not supported, e.g. `--signature`.
    var option: String
    /// The strategy's name.
    var strategy: String

    /// `--signature is not supported with --strategy fork in this build`.
    var description: String { "\(option) is not supported with --strategy \(strategy) in this build" }
}

/// At most 80 characters of a name or detail in a message.
enum Quote80 {
    /// `text`, or its first 79 characters and `…`.
    static func short(_ text: String) -> String {
        let head = text.prefix(81)
        return head.count <= 80 ? String(head) : String(head.prefix(79)) + "…"
    }
}

/// One strategy's way of answering inputs with a signature: each is a small
/// adapter over the library's `call(arguments:)` API of that strategy.
protocol SignatureCaller {
    /// Calls the function once per input (one array of values each), outcomes in input order.
    func call(_ inputs: [[Value]]) throws -> Outcomes
}

/// `--strategy guard`: ``GuardStrategy/call(arguments:)`` in this process.
struct GuardSignatureCaller: SignatureCaller {
    /// The guard around the function (whose signature is the one given).
    let strategy: GuardStrategy

    func call(_ inputs: [[Value]]) throws -> Outcomes {
        Outcomes(try inputs.map { try strategy.call(arguments: $0) })
    }
}

/// `--strategy pool`: ``WorkerPool/run(arguments:)`` on the supervised workers.
struct PoolSignatureCaller: SignatureCaller {
    /// The pool, started with the signature (and the initializer, if any).
    let pool: WorkerPool

    func call(_ inputs: [[Value]]) throws -> Outcomes { try pool.run(arguments: inputs) }
}

/// `int32(int32)` on a pool started with an initializer (such a pool takes
/// argument records): each input travels as `[.int32(input)]`.
struct PoolRecordStrategy: Strategy {
    /// The pool, started with the default signature and the initializer.
    let pool: WorkerPool

    /// `"pool"`.
    var name: String { "pool" }

    /// One call on a worker.
    func call(_ input: Int32) throws -> Outcome { try call([input])[0] }

    /// All calls on the workers, outcomes in input order.
    func call(_ inputs: [Int32]) throws -> Outcomes { try pool.run(arguments: inputs.map { [.int32($0)] }) }
}

/// `--init SYMBOL` in this process: `int SYMBOL(void)` called once under the
/// guard, so that a crash is reported instead of ending the command.
enum GuardInitializer {
    /// The signature of an initializer: `int32()`.
    static let signature = Signature(returning: .int32, [])

    /// Loads `symbol` from `library` (already loaded) and calls it once;
    /// throws ``InitError`` unless it returned 0, ``LoadError`` when it is missing.
    static func run(library: String, symbol: String) throws {
        let function = try NativeFunction(library: library, symbol: symbol, signature: signature)
        let outcome = try GuardStrategy(function).call(arguments: [])
        if let failure = InitError(symbol: symbol, outcome: outcome) { throw failure }
    }
}
