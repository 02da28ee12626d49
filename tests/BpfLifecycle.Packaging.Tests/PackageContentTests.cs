// What a package must carry for someone who never saw the repository: docs, licence, symbols, the C header.
using System.IO.Compression;
using System.Xml.Linq;

namespace BpfLifecycle.Packaging.Tests;

[Collection(PackedFeedCollection.Name)]
public sealed class PackageContentTests(PackedFeed feed)
{
    [Fact]
    public void Every_layer_is_packed_with_readme_licence_description_and_xml_docs()
    {
        Assert.Contains("BpfLifecycle", feed.PackageIds);
        Assert.Contains("BpfLifecycle.Interop", feed.PackageIds);
        Assert.Contains("BpfLifecycle.Maps", feed.PackageIds);
        Assert.Contains("BpfLifecycle.Observability", feed.PackageIds);
        Assert.Contains("BpfLifecycle.Deployment", feed.PackageIds);
        foreach (var id in feed.PackageIds)
        {
            using var zip = ZipFile.OpenRead(feed.PackagePath(id));
            var entries = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
            Assert.Contains("README.md", entries);
            Assert.Contains($"lib/net10.0/{id}.dll", entries);
            Assert.Contains($"lib/net10.0/{id}.xml", entries);

            var nuspec = Nuspec(zip, id);
            XNamespace ns = nuspec.Root!.Name.Namespace;
            var metadata = nuspec.Root.Element(ns + "metadata")!;
            Assert.Equal("MIT", metadata.Element(ns + "license")?.Value);
            Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
            Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")?.Value), $"{id} has no description");
            Assert.Equal(feed.Version, metadata.Element(ns + "version")?.Value);
        }
    }

    [Fact]
    public void Every_package_has_a_symbol_package_with_its_portable_pdb()
    {
        Span<byte> magic = stackalloc byte[4];
        foreach (var id in feed.PackageIds)
        {
            using var zip = ZipFile.OpenRead(feed.PackagePath(id, "snupkg"));
            var pdb = zip.GetEntry($"lib/net10.0/{id}.pdb");
            Assert.NotNull(pdb);
            using var stream = pdb.Open();
            stream.ReadExactly(magic);
            Assert.True(magic.SequenceEqual("BSJB"u8), $"{id}.pdb is not a portable PDB");
        }
    }

    [Fact]
    public void Packages_depend_on_each_other_at_the_packed_version()
    {
        using var zip = ZipFile.OpenRead(feed.PackagePath("BpfLifecycle.Deployment"));
        var nuspec = Nuspec(zip, "BpfLifecycle.Deployment");
        var deps = nuspec.Descendants().Where(e => e.Name.LocalName == "dependency").ToDictionary(e => (string)e.Attribute("id")!, e => (string)e.Attribute("version")!);
        Assert.Equal(feed.Version, deps["BpfLifecycle.Interop"]);
        Assert.Equal(feed.Version, deps["BpfLifecycle.Maps"]);
        Assert.Equal(feed.Version, deps["BpfLifecycle.Observability"]);
    }

    [Fact]
    public void Meta_package_pulls_every_layer_at_the_packed_version()
    {
        using var zip = ZipFile.OpenRead(feed.PackagePath("BpfLifecycle"));
        var nuspec = Nuspec(zip, "BpfLifecycle");
        var deps = nuspec.Descendants().Where(e => e.Name.LocalName == "dependency").ToDictionary(e => (string)e.Attribute("id")!, e => (string)e.Attribute("version")!);
        foreach (var layer in new[] { "BpfLifecycle.Interop", "BpfLifecycle.Maps", "BpfLifecycle.Observability", "BpfLifecycle.Deployment" })
        {
            Assert.Equal(feed.Version, deps[layer]);
        }

        Assert.NotNull(zip.GetEntry("lib/net10.0/BpfLifecycle.dll"));
    }

    [Fact]
    public void Interop_package_carries_the_bpf_header_and_the_build_props_that_point_at_it()
    {
        using var zip = ZipFile.OpenRead(feed.PackagePath("BpfLifecycle.Interop"));
        using (var header = new StreamReader(zip.GetEntry("include/bpf_lifecycle.h")!.Open()))
        {
            Assert.Equal(File.ReadAllText(Path.Combine(Dotnet.RepositoryRoot, "bpf", "include", "bpf_lifecycle.h")), header.ReadToEnd());
        }

        Assert.NotNull(zip.GetEntry("build/BpfLifecycle.Interop.props"));
        Assert.NotNull(zip.GetEntry("buildTransitive/BpfLifecycle.Interop.props"));
    }

    private static XDocument Nuspec(ZipArchive zip, string id)
    {
        using var s = zip.GetEntry($"{id}.nuspec")!.Open();
        return XDocument.Load(s);
    }
}
