// Process-wide libbpf state: finding libbpf.so.1 and checking its version, and routing libbpf's printf-style
// messages to a .NET logger and to the object load in progress on the calling thread.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using BpfLifecycle.Interop.Native;
using NativeApi = BpfLifecycle.Interop.Native.Interop;

namespace BpfLifecycle.Interop;

/// <summary>Severity of a libbpf message (<c>enum libbpf_print_level</c>).</summary>
public enum LibbpfLogLevel
{
    /// <summary><c>LIBBPF_WARN</c>: something failed or will fail.</summary>
    Warning = 0,

    /// <summary><c>LIBBPF_INFO</c>.</summary>
    Info = 1,

    /// <summary><c>LIBBPF_DEBUG</c>: step-by-step detail of opening and loading objects.</summary>
    Debug = 2,
}

/// <summary>
/// The libbpf shared library the ELF object loader (<see cref="BpfObjectFile"/>) is built on: version detection and
/// log routing.
/// </summary>
/// <remarks>
/// libbpf formats its messages with printf and hands the callback a <c>va_list</c>. The SDK formats them with
/// libc's <c>vsnprintf</c>, passing the <c>va_list</c> through as a pointer; that is the calling convention on
/// x86_64 and arm64 Linux, the platforms the SDK supports. Once the SDK has touched libbpf, libbpf no longer
/// writes to stderr: its messages go to the logger set with <see cref="SetLogger"/> (or nowhere).
/// </remarks>
public static unsafe class Libbpf
{
    /// <summary>The file name the SDK loads.</summary>
    public const string LibraryName = NativeApi.Libraries.Libbpf;

    /// <summary>The oldest libbpf the SDK works with.</summary>
    public static readonly Version MinimumVersion = new(1, 0);

    private static readonly Lazy<(Version? Version, string? Error)> s_probe = new(() => Probe(LibraryName), LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly object s_printGate = new();
    private static volatile bool s_printInstalled;
    private static volatile Action<LibbpfLogLevel, string>? s_logger;

    [ThreadStatic]
    private static List<LibbpfMessage>? t_capture;

    /// <summary>True when libbpf.so.1, version 1.0 or newer, can be loaded.</summary>
    public static bool IsAvailable => s_probe.Value.Error is null;

    /// <summary>The installed libbpf's major.minor version (from <c>libbpf_major_version</c>/<c>libbpf_minor_version</c>).</summary>
    /// <exception cref="LibbpfUnavailableException">libbpf.so.1 is missing or older than 1.0.</exception>
    public static Version Version
    {
        get
        {
            EnsureAvailable();
            return s_probe.Value.Version!;
        }
    }

    /// <summary>libbpf's own version string, e.g. <c>v1.1</c>.</summary>
    public static string VersionString
    {
        get
        {
            EnsureAvailable();
            return Marshal.PtrToStringUTF8((nint)NativeApi.Libbpf.VersionString()) ?? string.Empty;
        }
    }

    /// <summary>Throws a <see cref="LibbpfUnavailableException"/> naming the problem unless a usable libbpf is installed.</summary>
    public static void EnsureAvailable()
    {
        var (version, error) = s_probe.Value;
        if (error is not null)
        {
            throw new LibbpfUnavailableException(error, version);
        }

        if (!s_printInstalled)
        {
            InstallPrint();
        }
    }

    /// <summary>
    /// Routes every libbpf message of the process to <paramref name="logger"/> (all levels, including
    /// <see cref="LibbpfLogLevel.Debug"/>), or drops them when null. The logger may be called from any thread that
    /// uses libbpf and must not throw; exceptions it throws are swallowed. Thread-safe; replaces the previous logger.
    /// </summary>
    public static void SetLogger(Action<LibbpfLogLevel, string>? logger)
    {
        if (logger is not null)
        {
            EnsureAvailable();
        }

        s_logger = logger;
    }

    /// <summary>Checks that a library is a usable libbpf; returns its version and an error message (null when usable).</summary>
    internal static (Version? Version, string? Error) Probe(string libraryName)
    {
        if (!OperatingSystem.IsLinux())
        {
            return (null, $"libbpf needs Linux; this is {RuntimeInformation.OSDescription}.");
        }

        if (!NativeLibrary.TryLoad(libraryName, out var lib))
        {
            return (null, $"{libraryName} not found — install libbpf1 (e.g. apt-get install libbpf1).");
        }

        try
        {
            if (!NativeLibrary.TryGetExport(lib, "libbpf_major_version", out var major) ||
                !NativeLibrary.TryGetExport(lib, "libbpf_minor_version", out var minor))
            {
                return (null, $"{libraryName} does not export libbpf_major_version/libbpf_minor_version: it is older than libbpf 0.7 or not libbpf; install libbpf1 (1.0 or newer).");
            }

            var version = new Version((int)((delegate* unmanaged<uint>)major)(), (int)((delegate* unmanaged<uint>)minor)());
            return (version, CheckVersion(version, libraryName));
        }
        finally
        {
            NativeLibrary.Free(lib);
        }
    }

    /// <summary>The error for a libbpf version the SDK cannot use, or null.</summary>
    internal static string? CheckVersion(Version found, string libraryName) => found < MinimumVersion
        ? $"{libraryName} is libbpf {found.Major}.{found.Minor}, but {MinimumVersion.Major}.{MinimumVersion.Minor} or newer is required — install libbpf1 from a newer distribution release."
        : null;

    private static void InstallPrint()
    {
        lock (s_printGate)
        {
            if (!s_printInstalled)
            {
                NativeApi.Libbpf.SetPrint(&Print);
                s_printInstalled = true;
            }
        }
    }

    /// <summary>Collects libbpf's messages on the calling thread until disposed (libbpf calls back synchronously on the caller's thread).</summary>
    internal static CaptureScope Capture()
    {
        EnsureAvailable();
        var scope = new CaptureScope(t_capture, new List<LibbpfMessage>());
        t_capture = scope.Messages;
        return scope;
    }

    internal readonly struct CaptureScope : IDisposable
    {
        private readonly List<LibbpfMessage>? _previous;

        internal CaptureScope(List<LibbpfMessage>? previous, List<LibbpfMessage> messages)
        {
            _previous = previous;
            Messages = messages;
        }

        public List<LibbpfMessage> Messages { get; }

        public void Dispose() => t_capture = _previous;
    }

    [UnmanagedCallersOnly]
    private static int Print(int level, byte* format, nint args)
    {
        try
        {
            var logger = s_logger;
            var capture = t_capture;
            if (logger is null && capture is null)
            {
                return 0;
            }

            var text = Format(format, args);
            var lvl = level switch
            {
                NativeApi.Libbpf.LIBBPF_WARN => LibbpfLogLevel.Warning,
                NativeApi.Libbpf.LIBBPF_INFO => LibbpfLogLevel.Info,
                _ => LibbpfLogLevel.Debug,
            };
            capture?.Add(new LibbpfMessage(lvl, text));
            logger?.Invoke(lvl, text);
        }
        catch (Exception)
        {
            // An exception must not unwind into libbpf's C frames.
        }

        return 0;
    }

    /// <summary>Formats a printf format with a <c>va_list</c>, reading the list from a copy each time (it can be consumed only once).</summary>
    internal static string Format(byte* format, nint args)
    {
        // va_copy is a plain struct copy on both supported ABIs: 24 bytes on x86_64, 32 on arm64.
        var listSize = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 32 : 24;
        var copy = stackalloc byte[32];
        const int StackSize = 512;
        var stackBuf = stackalloc byte[StackSize];
        Buffer.MemoryCopy((void*)args, copy, 32, listSize);
        var n = NativeApi.Libc.VsnPrintf(stackBuf, StackSize, format, (nint)copy);
        if (n < 0)
        {
            return Marshal.PtrToStringUTF8((nint)format) ?? string.Empty;
        }

        if (n < StackSize)
        {
            return Encoding.UTF8.GetString(stackBuf, n);
        }

        // Verifier logs arrive as one message and can be megabytes long.
        var heap = (byte*)NativeMemory.Alloc((nuint)n + 1);
        try
        {
            Buffer.MemoryCopy((void*)args, copy, 32, listSize);
            var m = NativeApi.Libc.VsnPrintf(heap, (nuint)n + 1, format, (nint)copy);
            return Encoding.UTF8.GetString(heap, Math.Min(Math.Max(m, 0), n));
        }
        finally
        {
            NativeMemory.Free(heap);
        }
    }

    /// <summary>libbpf's description of an error code (errno or its own 4000-range codes).</summary>
    internal static string DescribeError(int error)
    {
        var buf = stackalloc byte[256];
        return NativeApi.Libbpf.StrError(error, buf, 256) < 0 ? $"error {error}" : Marshal.PtrToStringUTF8((nint)buf) ?? $"error {error}";
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static string? ReadString(byte* p) => p is null ? null : Marshal.PtrToStringUTF8((nint)p);
}

/// <summary>One message libbpf printed.</summary>
/// <param name="Level">Severity.</param>
/// <param name="Text">The formatted text, usually ending in a newline.</param>
public readonly record struct LibbpfMessage(LibbpfLogLevel Level, string Text);
