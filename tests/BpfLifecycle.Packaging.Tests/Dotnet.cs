// Runs the dotnet CLI in a child process and fails with its output when it fails.
using System.Diagnostics;

namespace BpfLifecycle.Packaging.Tests;

internal static class Dotnet
{
    public static string RepositoryRoot { get; } = BpfLifecycle.TestKit.Repository.Root;

    public static Task<(int ExitCode, string Output)> RunAsync(string workingDirectory, TimeSpan timeout, params string[] args) =>
        ChildProcess.RunAsync(StartInfo(workingDirectory, args), timeout);

    public static Task<string> RunCheckedAsync(string workingDirectory, TimeSpan timeout, params string[] args) =>
        ChildProcess.RunCheckedAsync(StartInfo(workingDirectory, args), timeout);

    private static ProcessStartInfo StartInfo(string workingDirectory, string[] args)
    {
        var psi = ChildProcess.StartInfo("dotnet", workingDirectory, args);

        // The child must not inherit the test host's MSBuild/test settings.
        psi.Environment.Remove("MSBuildSDKsPath");
        psi.Environment.Remove("MSBuildExtensionsPath");
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        return psi;
    }
}
