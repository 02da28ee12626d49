// Redaction of secrets and user paths in command lines, environment variables and text.
using BpfLifecycle.Observability.Redaction;

namespace BpfLifecycle.Security.Tests;

public sealed class RedactionTests
{
    private readonly Redactor _r = new();

    [Theory]
    [InlineData("app --password hunter2 -v", "app --password *** -v")]
    [InlineData("app --password=hunter2 -v", "app --password=*** -v")]
    [InlineData("app --db-password 's3cr3t' --port 5432", "app --db-password *** --port 5432")]
    [InlineData("curl -H 'Authorization: Bearer abcdefghijklmnop' https://x", "curl -H 'Authorization: Bearer ***' https://x")]
    [InlineData("psql postgres://admin:pa55w0rd@db:5432/app", "psql postgres://admin:***@db:5432/app")]
    [InlineData("deploy --api-key=AKIAIOSFODNN7EXAMPLE", "deploy --api-key=***")]
    [InlineData("aws s3 ls # AKIAIOSFODNN7EXAMPLE", "aws s3 ls # ***")]
    [InlineData("token: ghp_abcdefghijklmnopqrstuvwxyz0123456789AB", "token: ***")]
    [InlineData("push ghp_abcdefghijklmnopqrstuvwxyz0123456789AB", "push ***")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc123==;EndpointSuffix=core", "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=***;EndpointSuffix=core")]
    [InlineData("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.abcdefghijklmnop", "jwt ***")]
    [InlineData("{\"client_secret\": \"xyz789\", \"name\": \"a\"}", "{\"client_secret\": \"***\", \"name\": \"a\"}")]
    [InlineData("/usr/bin/app --config /home/alice/.config/app.json", "/usr/bin/app --config /home/***/.config/app.json")]
    [InlineData("open /Users/bob/secret-notes.txt", "open /Users/***/secret-notes.txt")]
    [InlineData("ordinary text with --port 80", "ordinary text with --port 80")]
    public void Command_lines_and_text_lose_their_secrets(string input, string expected)
    {
        Assert.Equal(expected, _r.RedactCommandLine(input));
        Assert.Equal(expected, _r.Redact(_r.Redact(input)));
    }

    [Fact]
    public void Private_key_blocks_are_removed()
    {
        var text = "key:\n-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\nend";
        Assert.Equal("key:\n***\nend", _r.Redact(text));
    }

    [Fact]
    public void Argument_vectors_lose_the_value_after_a_secret_flag()
    {
        Assert.Equal(["app", "--token", "***", "--user", "bob", "--secret=***"], _r.RedactArguments(["app", "--token", "t0ps3cret", "--user", "bob", "--secret=x"]));
    }

    [Fact]
    public void Environment_variables_with_sensitive_names_are_removed_and_others_redacted()
    {
        var env = _r.RedactEnvironment(new Dictionary<string, string?>
        {
            ["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG",
            ["AWS_SESSION_TOKEN"] = "FQoGZXIvYXdzE",
            ["GITHUB_TOKEN"] = "abc",
            ["DB_PASSWORD"] = "pw",
            ["AZURE_CLIENT_SECRET"] = "s",
            ["DATABASE_URL"] = "mysql://root:rootpw@localhost/db",
            ["HOME"] = "/home/carol",
            ["LANG"] = "C.UTF-8",
            ["CUSTOMER_ID"] = "c-42",
        });

        Assert.Equal("***", env["AWS_SECRET_ACCESS_KEY"]);
        Assert.Equal("***", env["AWS_SESSION_TOKEN"]);
        Assert.Equal("***", env["GITHUB_TOKEN"]);
        Assert.Equal("***", env["DB_PASSWORD"]);
        Assert.Equal("***", env["AZURE_CLIENT_SECRET"]);
        Assert.Equal("mysql://root:***@localhost/db", env["DATABASE_URL"]);
        Assert.Equal("/home/***", env["HOME"]);
        Assert.Equal("C.UTF-8", env["LANG"]);
        Assert.Equal("c-42", env["CUSTOMER_ID"]);
    }

    [Fact]
    public void Configured_patterns_and_names_apply_and_bad_patterns_are_named()
    {
        var options = new RedactionOptions { RedactUserPaths = false, Replacement = "[redacted]" };
        options.Patterns.Add(@"cust-\d{4}");
        options.SensitiveEnvironmentVariables.Add("CUSTOMER_*");
        var r = new Redactor(options);

        Assert.Equal("order for [redacted] at /home/dave", r.Redact("order for cust-1234 at /home/dave"));
        Assert.Equal("[redacted]", r.RedactEnvironmentVariable("customer_id", "c-42"));
        Assert.True(r.IsSensitiveEnvironmentVariable("CUSTOMER_NAME"));

        var bad = new RedactionOptions();
        bad.Patterns.Add("(unclosed");
        var e = Assert.Throws<ArgumentException>(() => new Redactor(bad));
        Assert.Contains("'(unclosed'", e.Message, StringComparison.Ordinal);
    }
}
