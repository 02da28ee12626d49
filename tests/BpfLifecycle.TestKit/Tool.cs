// Runs command-line tools (ip, compilers, openssl, test binaries) as child processes and captures what they print.
using System.Diagnostics;

namespace BpfLifecycle.TestKit;

/// <summary>How a command ended: its exit code and what it wrote to standard output and standard error.</summary>
/// <param name="ExitCode">The process exit code.</param>
/// <param name="StandardOutput">Everything written to standard output.</param>
/// <param name="StandardError">Everything written to standard error.</param>
public sealed record ToolResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Standard output followed by standard error.</summary>
    public string Output => StandardOutput + StandardError;

    /// <summary>Deconstructs into the exit code and <see cref="Output"/>: <c>var (code, output) = await Tool.RunAsync(...)</c>.</summary>
    public void Deconstruct(out int exitCode, out string output)
    {
        exitCode = ExitCode;
        output = Output;
    }
}

/// <summary>Finds command-line tools and runs them to completion with captured output.</summary>
public static class Tool
{
    /// <summary>
    /// The full path of <paramref name="name"/> on PATH or, failing that, in the sbin directories (bpftool and ip live
    /// there and a non-login PATH may lack them); null when it is nowhere.
    /// </summary>
    public static string? Find(string name)
        => (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin"])
            .Select(d => Path.Combine(d, name))
            .FirstOrDefault(File.Exists);

    /// <summary>
    /// Runs <paramref name="file"/> (a path, or a name looked up with <see cref="Find"/>) with <paramref name="args"/> and
    /// returns how it ended. The process is killed when <paramref name="cancellationToken"/> is cancelled (the cancellation
    /// is rethrown).
    /// </summary>
    public static Task<ToolResult> RunAsync(string file, IEnumerable<string> args, CancellationToken cancellationToken = default)
        => RunCoreAsync(file, args, null, cancellationToken);

    /// <summary>
    /// Runs a command like <see cref="RunAsync(string, IEnumerable{string}, CancellationToken)"/>, and kills it with a
    /// <see cref="TimeoutException"/> when it outlives <paramref name="timeout"/>.
    /// </summary>
    public static Task<ToolResult> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, CancellationToken cancellationToken = default)
        => RunCoreAsync(file, args, timeout, cancellationToken);

    /// <summary>Runs a command synchronously; see <see cref="RunAsync(string, IEnumerable{string}, CancellationToken)"/>.</summary>
    public static ToolResult Run(string file, IEnumerable<string> args)
        => RunCoreAsync(file, args, null, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Runs a command synchronously; see <see cref="RunAsync(string, IEnumerable{string}, TimeSpan, CancellationToken)"/>.</summary>
    public static ToolResult Run(string file, IEnumerable<string> args, TimeSpan timeout)
        => RunCoreAsync(file, args, timeout, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Runs a command and returns its standard output; throws, with its standard error, when it exits non-zero.</summary>
    public static string RunChecked(string file, params string[] args)
    {
        var result = Run(file, args);
        return result.ExitCode == 0
            ? result.StandardOutput
            : throw new InvalidOperationException($"'{file} {string.Join(' ', args)}' failed with exit code {result.ExitCode}: {result.Output}");
    }

    /// <summary>
    /// The start info for <paramref name="file"/> (resolved as by <see cref="RunAsync(string, IEnumerable{string}, CancellationToken)"/>)
    /// with <paramref name="args"/>, to set a working directory or the environment before
    /// <see cref="RunAsync(ProcessStartInfo, TimeSpan, CancellationToken)"/>.
    /// </summary>
    public static ProcessStartInfo StartInfo(string file, IEnumerable<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var psi = new ProcessStartInfo(Resolve(file));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }

    /// <summary>Runs a prepared command (see <see cref="StartInfo"/>) with captured output; killed with a <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public static Task<ToolResult> RunAsync(ProcessStartInfo startInfo, TimeSpan timeout, CancellationToken cancellationToken = default)
        => RunCoreAsync(startInfo, timeout, cancellationToken);

    private static Task<ToolResult> RunCoreAsync(string file, IEnumerable<string> args, TimeSpan? timeout, CancellationToken cancellationToken)
        => RunCoreAsync(StartInfo(file, args), timeout, cancellationToken);

    private static async Task<ToolResult> RunCoreAsync(ProcessStartInfo psi, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        var file = psi.FileName;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"Cannot start {file}.");
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } t)
        {
            limit.CancelAfter(t);
        }

        var stdout = p.StandardOutput.ReadToEndAsync(limit.Token);
        var stderr = p.StandardError.ReadToEndAsync(limit.Token);
        try
        {
            await p.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not finish within {timeout!.Value.TotalSeconds:F0} s.");
        }

        return new ToolResult(p.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    private static string Resolve(string file) => file.Contains('/', StringComparison.Ordinal) ? file : Find(file) ?? file;
}
