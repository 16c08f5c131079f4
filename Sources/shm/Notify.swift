import ArgumentParser
import SharedMemory

/// `shm notify NAME ID`: marks one event id pending.
struct NotifyCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify",
        abstract: "Notify an event id (0 to 4095) on an events segment, waking its listener.",
        discussion: """
            The events segment is created if it does not exist yet, so a notification made before \
            the listener starts is kept for it (whichever of `shm notify` and `shm listen` starts \
            first creates it). Notifying an id that is still pending changes nothing: repeats \
            coalesce until the listener takes the id. Ends with status 0 once the id is marked; \
            it does not wait for a listener. `shm rm NAME` removes the segment.

            Example: shm listen doorbell --count 1 & shm notify doorbell 7
            """)

    @Argument(help: "The events segment's name.")
    var name: String

    @Argument(help: ArgumentHelp("The event id, from 0 to \(EventID.maximum).", valueName: "id"))
    var id: Int

    func validate() throws {
        guard EventID(id) != nil else {
            throw ValidationError("the event id must be between 0 and \(EventID.maximum), not \(id).")
        }
    }

    func execute() throws {
        let name = try segmentName(name)
        let notifier = try EventNotifier.open(name)
        try notifier.notify(EventID(id)!)
    }
}
