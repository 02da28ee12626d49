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
    private const int LOCK_UN = 8;
    private const int EWOULDBLOCK = 11;

    private readonly FileStream _file;

    private ApplicationLock(FileStream file) => _file = file;

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);

    public static async Task<ApplicationLock> AcquireAsync(string application, string path, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var started = time.GetTimestamp();
        while (true)
        {
            // FileShare.ReadWrite: exclusion comes from flock, not from the runtime's own share emulation.
            var fs = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
            if (Flock((int)fs.SafeFileHandle.DangerousGetHandle(), LOCK_EX | LOCK_NB) == 0)
            {
                fs.SetLength(0);
                fs.Write(System.Text.Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n"));
                fs.Flush();
                return new ApplicationLock(fs);
            }

            var errno = Marshal.GetLastPInvokeError();
            fs.Dispose();
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
    }

    public void Dispose()
    {
        _ = Flock((int)_file.SafeFileHandle.DangerousGetHandle(), LOCK_UN);
        _file.Dispose();
    }
}
