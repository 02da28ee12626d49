// Runs a child process to its end within a time limit and collects its output.
using System.Diagnostics;

namespace BpfLifecycle.Packaging.Tests;

internal static class ChildProcess
{
    public static async Task<(int ExitCode, string Output)> RunAsync(ProcessStartInfo psi, TimeSpan timeout)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{psi.FileName} {string.Join(' ', psi.ArgumentList)}' did not finish within {timeout}.");
        }

        return (p.ExitCode, await stdout + await stderr);
    }

    public static async Task<string> RunCheckedAsync(ProcessStartInfo psi, TimeSpan timeout)
    {
        var (code, output) = await RunAsync(psi, timeout);
        Assert.True(code == 0, $"'{psi.FileName} {string.Join(' ', psi.ArgumentList)}' failed with {code}:\n{output}");
        return output;
    }

    public static ProcessStartInfo StartInfo(string fileName, string workingDirectory, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(fileName) { WorkingDirectory = workingDirectory };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }
}
