extension RequestServer {
    /// Serves requests until the task is cancelled or the server is closed:
    /// `concurrency` tasks take requests in turn and answer each with what
    /// `handler` returns. A handler that throws answers with an error (the
    /// client gets ``ChannelError/requestFailed(_:)`` with the error's
    /// description). Messages that break the protocol are dropped, and a
    /// reply to a client that is gone is dropped.
    ///
    /// - Throws: the first error that stops taking requests (other than
    ///   cancellation or ``close()``, which end it quietly).
    public func serve(
        concurrency: Int = 1, _ handler: @escaping @Sendable (IncomingRequest) async throws -> [UInt8]
    ) async throws(ChannelError) {
        try await serveStreams(concurrency: concurrency) { request, replies in
            let reply = try await handler(request)
            try await self.reply(to: request, reply)
        }
    }

    /// Serves requests as ``serve(concurrency:_:)`` does, with a stream of
    /// replies for each: `handler` sends any number; when it returns, the
    /// stream ends (unless the handler ended it), and when it throws, the
    /// request fails with the error's description.
    public func serveStreams(
        concurrency: Int = 1, _ handler: @escaping @Sendable (IncomingRequest, ReplyStream) async throws -> Void
    ) async throws(ChannelError) {
        let failure = await withTaskGroup(of: ChannelError?.self) { group -> ChannelError? in
            for _ in 0..<max(1, concurrency) {
                group.addTask { await self.serveLoop(handler) }
            }
            var first: ChannelError?
            for await result in group {
                if let result, first == nil {
                    first = result
                    group.cancelAll()
                }
            }
            return first
        }
        if let failure { throw failure }
    }

    /// One serving task: takes requests until it is cancelled or the server closes.
    private func serveLoop(_ handler: @Sendable (IncomingRequest, ReplyStream) async throws -> Void) async -> ChannelError? {
        while !Task.isCancelled {
            let request: IncomingRequest
            do {
                request = try await nextRequest(timeout: nil)
            } catch .badChannel {
                continue
            } catch .cancelled, .closed {
                return nil
            } catch {
                return error
            }
            let replies = ReplyStream(request: request)
            do {
                try await handler(request, replies)
                if request.isStream { try await replies.finish() }
            } catch let error as ChannelError where isGone(error) {
                continue
            } catch {
                try? await replies.fail("\(error)")
            }
        }
        return nil
    }

    private func isGone(_ error: ChannelError) -> Bool {
        switch error {
        case .peerLeft, .peerDied, .cancelled, .closed: true
        default: false
        }
    }
}
