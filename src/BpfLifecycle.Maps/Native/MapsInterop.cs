// P/Invoke declarations the map layer needs beyond bpf(2): mmap for arrays and ring buffers, epoll and eventfd for waiting.
using System.Runtime.InteropServices;

namespace BpfLifecycle.Maps.Native;

internal static unsafe partial class MapsInterop
{
    private const string Libc = "libc";

    internal const int PROT_READ = 1;
    internal const int PROT_WRITE = 2;
    internal const int MAP_SHARED = 1;
    internal const int EPOLL_CLOEXEC = 0x80000;
    internal const int EFD_CLOEXEC = 0x80000;
    internal const int EFD_NONBLOCK = 0x800;
    internal const int EPOLL_CTL_ADD = 1;
    internal const uint EPOLLIN = 1;
    internal const int EINTR = 4;
    internal static readonly void* MAP_FAILED = (void*)-1;

    /// <summary>struct epoll_event is packed on x86_64 (12 bytes) and naturally aligned elsewhere (16 bytes).</summary>
    internal static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    /// <summary>Offset of the 64-bit user data inside struct epoll_event.</summary>
    internal static readonly int EpollDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    [LibraryImport(Libc, EntryPoint = "mmap", SetLastError = true)]
    internal static partial void* Mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Libc, EntryPoint = "munmap", SetLastError = true)]
    internal static partial int Munmap(void* addr, nuint length);

    [LibraryImport(Libc, EntryPoint = "getpagesize")]
    internal static partial int GetPageSize();

    [LibraryImport(Libc, EntryPoint = "epoll_create1", SetLastError = true)]
    internal static partial int EpollCreate1(int flags);

    [LibraryImport(Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
    internal static partial int EpollCtl(int epfd, int op, int fd, byte* ev);

    [LibraryImport(Libc, EntryPoint = "epoll_wait", SetLastError = true)]
    internal static partial int EpollWait(int epfd, byte* events, int maxEvents, int timeoutMs);

    [LibraryImport(Libc, EntryPoint = "eventfd", SetLastError = true)]
    internal static partial int EventFd(uint initval, int flags);

    [LibraryImport(Libc, EntryPoint = "read", SetLastError = true)]
    internal static partial nint Read(int fd, void* buf, nuint count);

    [LibraryImport(Libc, EntryPoint = "write", SetLastError = true)]
    internal static partial nint Write(int fd, void* buf, nuint count);

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    /// <summary>Registers <paramref name="fd"/> for EPOLLIN with <paramref name="data"/> as its tag.</summary>
    internal static int EpollAdd(int epfd, int fd, ulong data)
    {
        var ev = stackalloc byte[16];
        new Span<byte>(ev, 16).Clear();
        *(uint*)ev = EPOLLIN;
        *(ulong*)(ev + EpollDataOffset) = data;
        return EpollCtl(epfd, EPOLL_CTL_ADD, fd, ev);
    }
}
