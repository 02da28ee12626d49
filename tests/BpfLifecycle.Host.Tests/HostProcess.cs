// Runs the lifecycle host (bpflc) as a child process, the way an operator or a script does.
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace BpfLifecycle.Host.Tests;

/// <summary>A running or finished bpflc process with its captured output.</summary>
internal sealed partial class HostProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly object _gate = new();
    private bool _disposed;

    private HostProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (_gate) { _stdout.AppendLine(e.Data); } } };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (_gate) { _stderr.AppendLine(e.Data); } } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static string RepositoryRoot => BpfLifecycle.TestKit.Repository.Root;

    public string StandardOutput { get { lock (_gate) { return _stdout.ToString(); } } }

    public string StandardError { get { lock (_gate) { return _stderr.ToString(); } } }

    public int ExitCode => _process.ExitCode;

    public int Id => _process.Id;

    public static HostProcess Start(params string[] args) => Start(new Dictionary<string, string>(), args);

    public static HostProcess Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "bpflc.dll"));
        foreach (var (name, value) in environment)
        {
            psi.Environment[name] = value;
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return new HostProcess(Process.Start(psi)!);
    }

    /// <summary>
    /// Starts bpflc on a pseudo-terminal (util-linux <c>script</c>, TERM=xterm) as a user at a terminal runs it; its
    /// terminal output, escape sequences included, is <see cref="StandardOutput"/>, and <c>script</c> passes on its exit code.
    /// </summary>
    public static HostProcess StartOnTerminal(params string[] args)
    {
        static string Quote(string a) => "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
        var command = string.Join(' ', new[] { "dotnet", Path.Combine(AppContext.BaseDirectory, "bpflc.dll") }.Concat(args).Select(Quote));
        var psi = new ProcessStartInfo("script")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot,
        };
        foreach (var a in new[] { "--quiet", "--return", "--command", command, "/dev/null" })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["TERM"] = "xterm";
        return new HostProcess(Process.Start(psi)!);
    }

    /// <summary>Runs bpflc to completion and returns it.</summary>
    public static async Task<HostProcess> RunAsync(TimeSpan timeout, params string[] args)
    {
        var p = Start(args);
        await p.WaitForExitAsync(timeout);
        return p;
    }

    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bpflc did not finish within {timeout}.\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}");
        }

        _process.WaitForExit(); // flushes the asynchronous output readers
    }

    /// <summary>Waits until stdout contains <paramref name="text"/>.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!StandardOutput.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"bpflc never printed '{text}'.\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Sends a POSIX signal (SIGTERM = 15, SIGINT = 2) to the process.</summary>
    public void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public override string ToString() => $"exit {(_process.HasExited ? _process.ExitCode : -1)}\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}";

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
