// An exclusive flock(2) on a file, held for a process's lifetime: the kernel drops it when the process dies, so a
// lock nobody holds is never stale. The holder's pid is written into the file for messages.
using System.Globalization;
using System.Runtime.InteropServices;

namespace BpfLifecycle.Host;

/// <summary>An exclusive lock on a file that lives as long as this object (or the process) does.</summary>
internal sealed partial class ProcessLock : IDisposable
{
    private const int O_RDONLY = 0x0;
    private const int O_RDWR = 0x2;
    private const int O_CREAT = 0x40;
    private const int O_CLOEXEC = 0x80000;
    private const int LOCK_EX = 2;
    private const int LOCK_NB = 4;

    private readonly bool _deleteOnRelease;
    private int _fd;

    private ProcessLock(string path, int fd, bool deleteOnRelease)
    {
        Path = path;
        _fd = fd;
        _deleteOnRelease = deleteOnRelease;
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>
    /// Takes the lock on <paramref name="path"/> (created if missing, with its directory) and writes this process's id
    /// into it, or returns null when another process holds it. With <paramref name="deleteOnRelease"/> the file is
    /// removed while still locked when the lock is released, so nobody can lock the old file afterwards.
    /// </summary>
    public static ProcessLock? TryTake(string path, bool deleteOnRelease = false)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);

        // open(2) and flock(2) directly: the runtime's FileStream takes a lock of its own on Unix.
        var fd = Open(path, O_RDWR | O_CREAT | O_CLOEXEC, Convert.ToInt32("644", 8));
        if (fd < 0)
        {
            throw new IOException($"Cannot open '{path}': errno {Marshal.GetLastPInvokeError()}.");
        }

        if (Flock(fd, LOCK_EX | LOCK_NB) != 0)
        {
            _ = Close(fd);
            return null;
        }

        var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
        _ = Ftruncate(fd, 0);
        _ = Pwrite(fd, pid, pid.Length, 0);
        return new ProcessLock(path, fd, deleteOnRelease);
    }

    /// <summary>
    /// Whether another process holds the lock on <paramref name="path"/>; <paramref name="holder"/> is its pid as written
    /// in the file (null when unknown). Briefly takes and releases the lock when nobody holds it.
    /// </summary>
    public static bool IsHeld(string path, out int? holder)
    {
        holder = null;
        if (!File.Exists(path))
        {
            return false;
        }

        try
        {
            using var probe = TryTake(path);
            if (probe is not null)
            {
                return false;
            }
        }
        catch (IOException)
        {
            // Not ours to open (another user's lock file): nothing to say about it.
            return false;
        }

        // read(2) directly: FileStream's own lock would conflict with the holder's.
        var fd = Open(path, O_RDONLY | O_CLOEXEC, 0);
        if (fd >= 0)
        {
            var buffer = new byte[32];
            var n = Pread(fd, buffer, buffer.Length, 0);
            _ = Close(fd);
            if (n > 0 && int.TryParse(System.Text.Encoding.ASCII.GetString(buffer, 0, (int)n).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                holder = pid;
            }
        }

        return true;
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose()
    {
        if (_fd < 0)
        {
            return;
        }

        if (_deleteOnRelease)
        {
            try
            {
                File.Delete(Path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        _ = Close(_fd);
        _fd = -1;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int Ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    private static partial nint Pwrite(int fd, byte[] buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    private static partial nint Pread(int fd, byte[] buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
