#if canImport(Glibc)
import Glibc
#endif

/// The async API: a run on a thread of its own, cancelled by shutting the pool down.
extension WorkerPool {
    /// Runs `inputs` on a thread of its own and resumes when all are answered.
    ///
    /// Cancelling the task shuts the pool down (every worker and the helper
    /// are killed and reaped) and this throws `CancellationError`; the pool
    /// cannot be used afterwards.
    public func run(_ inputs: [Int32]) async throws -> Outcomes {
        let outcome: Result<Outcomes, any Error> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                PoolRunThread(pool: self, inputs: inputs, continuation: continuation).start()
            }
        } onCancel: {
            self.shutdown()
        }
        if Task.isCancelled { throw CancellationError() }
        return try outcome.get()
    }
}

/// A thread that runs one pool run for the async API (pool runs block).
private final class PoolRunThread: @unchecked Sendable {
    let pool: WorkerPool
    let inputs: [Int32]
    let continuation: CheckedContinuation<Result<Outcomes, any Error>, Never>

    init(pool: WorkerPool, inputs: [Int32], continuation: CheckedContinuation<Result<Outcomes, any Error>, Never>) {
        self.pool = pool
        self.inputs = inputs
        self.continuation = continuation
    }

    func start() {
        var thread = pthread_t()
        let retained = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(&thread, nil, { argument in
            let work = Unmanaged<PoolRunThread>.fromOpaque(argument!).takeRetainedValue()
            do { work.continuation.resume(returning: .success(try work.pool.run(work.inputs))) } catch {
                work.continuation.resume(returning: .failure(error))
            }
            return nil
        }, retained)
        if created == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<PoolRunThread>.fromOpaque(retained).release()
            continuation.resume(returning: .failure(SystemError("pthread_create", errno: created)))
        }
    }
}
