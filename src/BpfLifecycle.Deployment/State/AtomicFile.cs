// Durable file replacement: write a temporary file, fsync it, rename it over the target, fsync the
// directory. A crash leaves either the old or the new content, never a torn file.
using System.Runtime.InteropServices;

namespace BpfLifecycle.Deployment.State;

internal static partial class AtomicFile
{
    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int CloseFd(int fd);

    private const int O_RDONLY = 0;
    private const int O_DIRECTORY = 0x10000;

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> content)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                fs.Write(content);
                fs.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }

        SyncDirectory(dir);
    }

    public static void Delete(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
            SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        }
    }

    private static void SyncDirectory(string dir)
    {
        var fd = Open(dir, O_RDONLY | O_DIRECTORY);
        if (fd >= 0)
        {
            _ = Fsync(fd);
            _ = CloseFd(fd);
        }
    }
}
