// P/Invoke declarations for the C library calls the SDK makes (syscall, close, mmap, ...).
using System.Runtime.InteropServices;

namespace BpfLifecycle.Interop.Native;

internal static unsafe partial class Interop
{
    internal static partial class Libraries
    {
        internal const string Libc = "libc";
        internal const string Libbpf = "libbpf.so.1";
    }

    internal static partial class Libc
    {
        // syscall(2) is variadic; on x86_64 and arm64 Linux integer arguments travel in the same
        // registers as for a non-variadic call, so a fixed signature is safe.
        [LibraryImport(Libraries.Libc, EntryPoint = "syscall", SetLastError = true)]
        internal static partial long Syscall(long number, long a1, void* a2, long a3);

        [LibraryImport(Libraries.Libc, EntryPoint = "syscall", SetLastError = true)]
        internal static partial long Syscall5(long number, void* a1, long a2, long a3, long a4, long a5);

        [LibraryImport(Libraries.Libc, EntryPoint = "close", SetLastError = true)]
        internal static partial int Close(int fd);

        [LibraryImport(Libraries.Libc, EntryPoint = "mmap", SetLastError = true)]
        internal static partial void* Mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

        [LibraryImport(Libraries.Libc, EntryPoint = "munmap", SetLastError = true)]
        internal static partial int Munmap(void* addr, nuint length);

        [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
        internal static partial int Ioctl(int fd, nuint request, nint arg);

        [LibraryImport(Libraries.Libc, EntryPoint = "if_nametoindex", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial uint IfNameToIndex(string name);

        [LibraryImport(Libraries.Libc, EntryPoint = "setsockopt", SetLastError = true)]
        internal static partial int SetSockOpt(int fd, int level, int optname, void* optval, uint optlen);

        [LibraryImport(Libraries.Libc, EntryPoint = "strerror")]
        internal static partial nint StrError(int errnum);

        [LibraryImport(Libraries.Libc, EntryPoint = "getpagesize")]
        internal static partial int GetPageSize();

        internal const int PROT_READ = 1;
        internal const int PROT_WRITE = 2;
        internal const int MAP_SHARED = 1;
        internal static readonly void* MAP_FAILED = (void*)-1;
    }

    /// <summary>Syscall numbers that differ by architecture.</summary>
    internal static class SyscallNumbers
    {
        internal static readonly long Bpf = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 321,
            Architecture.Arm64 => 280,
            var a => throw new PlatformNotSupportedException($"bpf(2) syscall number unknown for {a}."),
        };

        internal static readonly long PerfEventOpen = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 298,
            Architecture.Arm64 => 241,
            var a => throw new PlatformNotSupportedException($"perf_event_open(2) syscall number unknown for {a}."),
        };
    }
}
