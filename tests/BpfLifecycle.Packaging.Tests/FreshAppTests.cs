// A new console app outside the solution restores the packed packages from a folder feed (and their dependencies
// from nuget.org), builds, and drives the real kernel with them.
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Packaging.Tests;

[Collection(PackedFeedCollection.Name)]
public sealed class FreshAppTests(PackedFeed feed) : KernelTestBase
{
    [Fact]
    public async Task Fresh_app_restores_the_packages_builds_loads_a_program_and_runs_a_signed_deployment()
    {
        KernelTest.RequireTool("ip");
        using var net = new NetworkNamespacePair();
        var pinRoot = NewPinDirectory();
        var app = Path.Combine(feed.Root, "fresh-app");
        Directory.CreateDirectory(app);
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed.Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="local"><package pattern="BpfLifecycle" /><package pattern="BpfLifecycle.*" /></packageSource>
                <packageSource key="nuget.org"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(app, "FreshApp.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="BpfLifecycle" Version="{feed.Version}" />
                <PackageReference Include="Microsoft.Extensions.DependencyInjection" Version="10.0.0" />
                <AssemblyMetadata Include="BpfLifecycleIncludeDir" Value="$(BpfLifecycleIncludeDir)" />
              </ItemGroup>
            </Project>
            """, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
            using System.Reflection;
            using BpfLifecycle;
            using Microsoft.Extensions.DependencyInjection;
            using BpfLifecycle.Deployment;
            using BpfLifecycle.Deployment.Artifacts;
            using BpfLifecycle.Deployment.Security;
            using BpfLifecycle.Deployment.Strategies;
            using BpfLifecycle.Interop;
            using BpfLifecycle.Interop.Asm;

            using var map = Bpf.MapCreate(new BpfMapSpec("fresh_count", BpfMapType.Array, 4, 8, 1));
            var program = new BpfAssembler()
                .Store(BpfSize.Word, BpfRegister.R10, -4, 0)
                .LoadMapFd(BpfRegister.R1, map)
                .Mov64(BpfRegister.R2, BpfRegister.R10)
                .Alu64(BpfAluOp.Add, BpfRegister.R2, -4)
                .Call(BpfHelper.MapLookupElem)
                .JumpIf(BpfJumpOp.Eq, BpfRegister.R0, 0, "out")
                .Mov64(BpfRegister.R1, 1)
                .AtomicAdd(BpfSize.DoubleWord, BpfRegister.R0, 0, BpfRegister.R1)
                .Label("out")
                .Return(2)
                .Build();
            using var prog = Bpf.ProgramLoad(new BpfProgramSpec("fresh_xdp", BpfProgramType.Xdp, program));
            var info = Bpf.GetProgramInfo(prog);
            var include = typeof(Program).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "BpfLifecycleIncludeDir").Value!;
            Console.WriteLine($"program {info.Name} id {info.Id} maps {info.MapIds.Count}");
            Console.WriteLine($"header {File.Exists(Path.Combine(include, "bpf_lifecycle.h"))}");

            // The meta-package carries the DI registration.
            var services = new ServiceCollection();
            services.AddBpfLifecycle();
            Console.WriteLine($"gates registered {services.Count(d => d.ServiceType == typeof(BpfLifecycle.Deployment.Gates.IDeploymentGate))}");

            // A signed deployment, as the README shows it.
            var trust = new TrustStore();
            trust.AddFile(args[4], "demo");
            var signatures = new SignaturePolicy(trust);
            using var manager = new DeploymentManager(
                new DeploymentOptions { Application = "fresh", StateDirectory = args[2], BpffsRoot = args[3] },
                gates: [new SignatureGate(signatures), new CapabilityGate()]);
            var outcome = await manager.DeployAsync(signatures.LoadVerified(args[0]), new DeploymentRequest
            {
                Strategy = RolloutStrategy.Immediate(),
                AttachPoints = [AttachPoint.Parse(args[1])],
            });
            var status = manager.GetStatus();
            Console.WriteLine($"deploy {outcome.Result} active {status.ActiveVersionId} links {status.LinkIds.Count}");
            await manager.UndeployAsync();
            Console.WriteLine($"undeployed links {manager.GetStatus().LinkIds.Count}");
            """, TestContext.Current.CancellationToken);

        var output = await Dotnet.RunCheckedAsync(app, TimeSpan.FromMinutes(10), "run", "-c", "Release", "--",
            Path.Combine(Dotnet.RepositoryRoot, "samples", "artifacts", "v1"), $"xdp:{net.HostInterface}", Path.Combine(feed.Root, "state"), pinRoot,
            Path.Combine(Dotnet.RepositoryRoot, "samples", "keys", "demo-signing.pub.pem"));

        Assert.Matches(@"program fresh_xdp id \d+ maps 1", output);
        Assert.Contains("header True", output, StringComparison.Ordinal);
        Assert.Matches(@"gates registered [1-9]", output);
        Assert.Contains("deploy Promoted active 1 links 1", output, StringComparison.Ordinal);
        Assert.Contains("undeployed links 0", output, StringComparison.Ordinal);
        Assert.DoesNotContain(Path.Combine(Dotnet.RepositoryRoot, "src"), File.ReadAllText(Path.Combine(app, "obj", "project.assets.json")), StringComparison.Ordinal);
    }
}
