// Exceptions the SDK throws for kernel failures: errno, command, and the verifier's log for loads.
using System.Runtime.InteropServices;
using BpfLifecycle.Interop.Native;

namespace BpfLifecycle.Interop;

/// <summary>Linux errno values the SDK names in its errors.</summary>
public static class Errno
{
    /// <summary>Operation not permitted.</summary>
    public const int EPERM = 1;
    /// <summary>No such file or directory / no such element.</summary>
    public const int ENOENT = 2;
    /// <summary>Interrupted system call.</summary>
    public const int EINTR = 4;
    /// <summary>Bad file descriptor.</summary>
    public const int EBADF = 9;
    /// <summary>Try again.</summary>
    public const int EAGAIN = 11;
    /// <summary>Out of memory.</summary>
    public const int ENOMEM = 12;
    /// <summary>Permission denied (also: the verifier rejected the program).</summary>
    public const int EACCES = 13;
    /// <summary>Bad address.</summary>
    public const int EFAULT = 14;
    /// <summary>Device or resource busy.</summary>
    public const int EBUSY = 16;
    /// <summary>File exists.</summary>
    public const int EEXIST = 17;
    /// <summary>No such device.</summary>
    public const int ENODEV = 19;
    /// <summary>Invalid argument.</summary>
    public const int EINVAL = 22;
    /// <summary>Argument list too long (map full for some types).</summary>
    public const int E2BIG = 7;
    /// <summary>No space left (log buffer too small, ring full).</summary>
    public const int ENOSPC = 28;
    /// <summary>Function not implemented.</summary>
    public const int ENOSYS = 38;
    /// <summary>The link has been severed (link detached).</summary>
    public const int ENOLINK = 67;
    /// <summary>Operation not supported.</summary>
    public const int EOPNOTSUPP = 95;
    /// <summary>Kernel-internal ENOTSUPP, leaked by some bpf(2) paths (e.g. test runs of tracing programs).</summary>
    public const int ENOTSUPP = 524;

    private static readonly Dictionary<int, string> Names = new()
    {
        [EPERM] = "EPERM", [ENOENT] = "ENOENT", [EINTR] = "EINTR", [EBADF] = "EBADF", [EAGAIN] = "EAGAIN",
        [ENOMEM] = "ENOMEM", [EACCES] = "EACCES", [EFAULT] = "EFAULT", [EBUSY] = "EBUSY", [EEXIST] = "EEXIST",
        [ENODEV] = "ENODEV", [EINVAL] = "EINVAL", [E2BIG] = "E2BIG", [ENOSPC] = "ENOSPC", [ENOSYS] = "ENOSYS",
        [ENOLINK] = "ENOLINK", [EOPNOTSUPP] = "EOPNOTSUPP", [ENOTSUPP] = "ENOTSUPP", [3] = "ESRCH", [6] = "ENXIO",
        [24] = "EMFILE", [25] = "ENOTTY", [34] = "ERANGE", [110] = "ETIMEDOUT",
    };

    /// <summary>The symbolic name of an errno value, e.g. <c>EPERM</c>.</summary>
    public static string Name(int errno) => Names.TryGetValue(errno, out var n) ? n : $"errno {errno}";

    /// <summary>A human-readable description of an errno value.</summary>
    public static string Describe(int errno)
    {
        if (errno == ENOTSUPP)
        {
            return "operation not supported by the kernel for this object";
        }

        var text = Marshal.PtrToStringUTF8(Interop.Native.Interop.Libc.StrError(errno));
        return string.IsNullOrEmpty(text) || text.StartsWith("Unknown error", StringComparison.Ordinal) ? $"error {errno}" : text;
    }
}

/// <summary>A bpf(2) call (or a related kernel call) failed.</summary>
public class BpfException : IOException
{
    /// <summary>Creates an exception for a failed command.</summary>
    public BpfException(BpfCommand? command, int errno, string? detail = null, Exception? inner = null)
        : base(Format(command, errno, detail), inner)
    {
        Command = command;
        Errno = errno;
        HResult = errno;
    }

    /// <summary>The bpf(2) command that failed, or null for another kernel call.</summary>
    public BpfCommand? Command { get; }

    /// <summary>The errno the kernel returned.</summary>
    public int Errno { get; }

    /// <summary>The symbolic errno name, e.g. <c>EBUSY</c>.</summary>
    public string ErrnoName => Interop.Errno.Name(Errno);

    private static string Format(BpfCommand? command, int errno, string? detail)
    {
        var what = command is { } c ? $"bpf({ToKernelName(c)})" : "kernel call";
        var msg = $"{what} failed: {Interop.Errno.Name(errno)} ({Interop.Errno.Describe(errno)})";
        return detail is null ? msg : $"{msg}: {detail}";
    }

    /// <summary>The kernel's name of a command, e.g. <c>BPF_MAP_CREATE</c>.</summary>
    public static string ToKernelName(BpfCommand command)
    {
        var name = command.ToString();
        var sb = new System.Text.StringBuilder("BPF_", name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]))
            {
                sb.Append('_');
            }

            sb.Append(char.ToUpperInvariant(name[i]));
        }

        return sb.ToString();
    }
}

/// <summary>The verifier rejected a program. <see cref="VerifierLog"/> holds its whole log.</summary>
public sealed class BpfVerifierException : BpfException
{
    /// <summary>Creates a verifier error.</summary>
    public BpfVerifierException(int errno, string programName, string verifierLog)
        : base(BpfCommand.ProgLoad, errno, $"program '{programName}' rejected by the verifier:{Environment.NewLine}{Tail(verifierLog, 8)}")
    {
        ProgramName = programName;
        VerifierLog = verifierLog;
    }

    /// <summary>The name of the rejected program.</summary>
    public string ProgramName { get; }

    /// <summary>The verifier's complete log.</summary>
    public string VerifierLog { get; }

    /// <summary>The last <paramref name="count"/> non-empty lines of a log.</summary>
    public static string Tail(string log, int count)
    {
        var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(Environment.NewLine, lines.Skip(Math.Max(0, lines.Length - count)));
    }
}

/// <summary>The running kernel lacks a feature an operation needs (found by a feature probe or by the errno it returned).</summary>
public sealed class BpfFeatureNotSupportedException : NotSupportedException
{
    /// <summary>Creates an error naming the missing kernel feature.</summary>
    public BpfFeatureNotSupportedException(string feature, string detail, int errno = 0, Exception? inner = null)
        : base($"The running kernel does not support {feature}: {detail}", inner)
    {
        Feature = feature;
        Errno = errno;
    }

    /// <summary>The missing feature, e.g. <c>kprobe PMU</c>.</summary>
    public string Feature { get; }

    /// <summary>The errno of the probe or the failed call, or 0.</summary>
    public int Errno { get; }
}

internal static class ThrowHelper
{
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    internal static void ThrowBpf(BpfCommand command, int errno, string? detail = null) => throw new BpfException(command, errno, detail);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    internal static void ThrowKernel(string call, int errno, string? detail = null)
        => throw new BpfException(null, errno, detail is null ? call : $"{call}: {detail}");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    internal static void ThrowArgument(string paramName, string message) => throw new ArgumentException(message, paramName);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    internal static void ThrowDisposed(object o) => throw new ObjectDisposedException(o.GetType().Name);
}
