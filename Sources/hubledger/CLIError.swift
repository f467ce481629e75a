/// How a command ends other than in success, and the exit status each gives.
enum CLIError: Error {
    /// Bad usage: exit 2.
    case usage(String)
    /// A failed check or refused operation: exit 1, with the message on stderr.
    case failure(String)
    /// A failed check whose report is already printed: exit 1 silently.
    case silentFailure
    /// `--help`: print and exit 0.
    case help(String)
}
