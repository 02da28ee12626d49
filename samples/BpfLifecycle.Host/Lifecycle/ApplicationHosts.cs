// Builds a host for another application name with the same configuration and composition as the current command,
// so a command that works on a second application (the demo) gets the SDK exactly as every other command does.
using Microsoft.Extensions.Hosting;

namespace BpfLifecycle.Host.Lifecycle;

internal sealed class ApplicationHosts(Func<string, IHost> build)
{
    /// <summary>A host whose BpfLifecycle:Application is <paramref name="application"/>; the caller disposes it.</summary>
    public IHost Create(string application) => build(application);
}
