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
        try strategy.call(argumentLists: inputs)
    }
}

/// `--strategy fork`: ``ForkStrategy/call(arguments:)``, one fresh process per call.
struct ForkSignatureCaller: SignatureCaller {
    /// Fork per call of the function (whose signature is the one given), with the initializer if any.
    let strategy: ForkStrategy

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
