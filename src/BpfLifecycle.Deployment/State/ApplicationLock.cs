// One manager per application at a time: an exclusive flock on <state>/<app>.lock, held for the length
// of an operation. A second process waits (up to a timeout) or fails with a clear error.
using System.Runtime.InteropServices;

namespace BpfLifecycle.Deployment.State;

/// <summary>Another process holds the application's lock.</summary>
public sealed class DeploymentLockedException : TimeoutException
{
    /// <summary>Creates the error.</summary>
    public DeploymentLockedException(string application, string lockPath, TimeSpan waited)
        : base($"Another deployment of '{application}' holds '{lockPath}'; gave up after {waited.TotalSeconds:0.#} s.")
    {
        Application = application;
        LockPath = lockPath;
    }

    /// <summary>The application.</summary>
    public string Application { get; }

    /// <summary>The lock file.</summary>
    public string LockPath { get; }
}

internal sealed partial class ApplicationLock : IDisposable
{
    private const int LOCK_EX = 2;
    private const int LOCK_NB = 4;
    private const int EWOULDBLOCK = 11;
    private const int O_RDWR = 2;
    private const int O_CREAT = 0x40;
    private const int O_CLOEXEC = 0x80000;

    private int _fd;

    private ApplicationLock(int fd) => _fd = fd;

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);

    // The runtime's FileStream takes its own flock on Unix, which would collide with this one: use open(2).
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "ftruncate")]
    private static partial int Ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "pwrite")]
    private static unsafe partial nint Pwrite(int fd, byte* buffer, nuint count, long offset);

    public static async Task<ApplicationLock> AcquireAsync(string application, string path, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var fd = Open(path, O_RDWR | O_CREAT | O_CLOEXEC, Convert.ToInt32("644", 8));
        if (fd < 0)
        {
            throw new IOException($"Cannot open lock file '{path}': errno {Marshal.GetLastPInvokeError()}.");
        }

        try
        {
            var started = time.GetTimestamp();
            while (Flock(fd, LOCK_EX | LOCK_NB) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != EWOULDBLOCK)
                {
                    throw new IOException($"flock('{path}') failed with errno {errno}.");
                }

                var waited = time.GetElapsedTime(started);
                if (waited >= timeout)
                {
                    throw new DeploymentLockedException(application, path, waited);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(50), time, cancellationToken).ConfigureAwait(false);
            }

            // The holder's pid, for an operator wondering who holds the lock.
            var pid = System.Text.Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n");
            _ = Ftruncate(fd, 0);
            unsafe
            {
                fixed (byte* p = pid)
                {
                    _ = Pwrite(fd, p, (nuint)pid.Length, 0);
                }
            }

            return new ApplicationLock(fd);
        }
        catch
        {
            _ = Close(fd);
            throw;
        }
    }

    public void Dispose()
    {
        // Closing the descriptor releases the flock.
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            _ = Close(fd);
        }
    }
}
