// Errors of the libbpf-based ELF object loader: libbpf missing or too old, a libbpf call failing, a map that
// cannot be reused by an object.
namespace BpfLifecycle.Interop;

/// <summary>libbpf.so.1 is not installed, or the installed libbpf is older than the SDK needs.</summary>
public sealed class LibbpfUnavailableException : NotSupportedException
{
    /// <summary>Creates the error.</summary>
    public LibbpfUnavailableException(string message, Version? foundVersion = null) : base(message) => FoundVersion = foundVersion;

    /// <summary>The libbpf version found, or null when none was found.</summary>
    public Version? FoundVersion { get; }
}

/// <summary>
/// A libbpf call failed. <see cref="BpfException.Errno"/> holds the error libbpf returned (an errno, or one of
/// libbpf's own codes from 4000 up); <see cref="LibbpfLog"/> holds what libbpf printed during the call.
/// </summary>
public sealed class LibbpfException : BpfException
{
    private readonly string _message;

    /// <summary>Creates the error.</summary>
    /// <param name="operation">What failed, e.g. <c>bpf_object__open_file('x.o')</c>.</param>
    /// <param name="error">The positive error code.</param>
    /// <param name="libbpfLog">Messages libbpf printed during the call.</param>
    public LibbpfException(string operation, int error, IReadOnlyList<LibbpfMessage> libbpfLog)
        : base(null, error, operation)
    {
        ArgumentNullException.ThrowIfNull(libbpfLog);
        Operation = operation;
        LibbpfLog = libbpfLog;
        var warnings = libbpfLog.Where(m => m.Level == LibbpfLogLevel.Warning).Select(m => m.Text.TrimEnd()).ToList();
        var name = error >= 4000 ? $"libbpf error {error}" : Interop.Errno.Name(error);
        _message = $"libbpf {operation} failed: {name} ({Libbpf.DescribeError(error)})"
            + (warnings.Count == 0 ? string.Empty : Environment.NewLine + string.Join(Environment.NewLine, warnings.Skip(Math.Max(0, warnings.Count - 6))));
    }

    /// <summary>The libbpf operation that failed.</summary>
    public string Operation { get; }

    /// <summary>Every message libbpf printed during the failed call (all levels).</summary>
    public IReadOnlyList<LibbpfMessage> LibbpfLog { get; }

    /// <inheritdoc />
    public override string Message => _message;
}

/// <summary>
/// An existing map cannot stand in for a map of an object: type, sizes, capacity or flags differ. The message lists
/// each difference, e.g. <c>KeySize: 4 changed to 8</c> (object's value first, existing map's second).
/// </summary>
public sealed class BpfMapIncompatibleException : InvalidOperationException
{
    /// <summary>Creates the error.</summary>
    public BpfMapIncompatibleException(string mapName, IReadOnlyList<string> differences)
        : base($"Map '{mapName}' cannot reuse the given map: {string.Join(", ", differences)} (object's definition -> existing map).")
    {
        MapName = mapName;
        Differences = differences;
    }

    /// <summary>The object's map name.</summary>
    public string MapName { get; }

    /// <summary>One entry per differing property, e.g. <c>KeySize: 4 changed to 8</c>.</summary>
    public IReadOnlyList<string> Differences { get; }

    /// <summary>The differences between the map an object expects and a map offered for reuse (empty when compatible).</summary>
    public static IReadOnlyList<string> Compare(BpfMapSpec expected, BpfMapSpec actual)
        => BpfMapSpec.Differences(expected, actual).Select(d => d.ToString()).ToList();
}
