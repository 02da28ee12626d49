// A socket filter attachment: not a kernel link, so it lives and dies with the socket option it set.
using System.Net.Sockets;

namespace BpfLifecycle.Interop;

/// <summary>
/// A SOCKET_FILTER program attached to one socket with SO_ATTACH_BPF. Unlike a <see cref="BpfLink"/> it cannot be
/// pinned, reopened or updated atomically; <see cref="Dispose"/> detaches it (SO_DETACH_BPF), and closing the socket
/// drops it too.
/// </summary>
public sealed unsafe class BpfSocketFilter : IDisposable
{
    private readonly Socket _socket;
    private bool _detached;

    internal BpfSocketFilter(Socket socket) => _socket = socket;

    /// <summary>The socket the filter is attached to.</summary>
    public Socket Socket => _socket;

    /// <summary>Whether the filter is still attached by this object.</summary>
    public bool IsAttached => !_detached && !_socket.SafeHandle.IsClosed;

    /// <summary>Detaches the filter (SO_DETACH_BPF) unless the socket is already closed.</summary>
    public void Dispose()
    {
        if (_detached)
        {
            return;
        }

        _detached = true;
        var sock = _socket.SafeHandle;
        var addRef = false;
        try
        {
            sock.DangerousAddRef(ref addRef);
            var unused = 0;
            if (Native.Interop.Libc.SetSockOpt((int)sock.DangerousGetHandle(), Native.Interop.Net.SOL_SOCKET, Native.Interop.Net.SO_DETACH_BPF, &unused, sizeof(int)) < 0)
            {
                var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                ThrowHelper.ThrowKernel("setsockopt(SO_DETACH_BPF)", errno);
            }
        }
        catch (ObjectDisposedException)
        {
            // A closed socket has no filter left to detach.
        }
        finally
        {
            if (addRef)
            {
                sock.DangerousRelease();
            }
        }
    }
}
