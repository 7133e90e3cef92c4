using System.CommandLine;
using System.Globalization;
using Junis.Server.Auth.PostgreSql;
using Junis.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Auth;

/// <summary>
/// Administration from the server's own binary: <c>orgs create|list</c> and <c>keys create|list|revoke</c>,
/// against the database the server uses, whether or not the server is running.
/// </summary>
public static class AdminCommands
{
    public static bool Handles(string[] args) => args is ["orgs" or "keys", ..];

    /// <summary>Runs the command <paramref name="args"/> name, with the settings the server would read from <paramref name="contentRoot"/>.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="contentRoot">Where the server's settings are.</param>
    /// <param name="more">Commands of other parts of the server (agents, say), built on the same services.</param>
    public static async Task<int> RunAsync(string[] args, string contentRoot, params Func<IServiceProvider, Command>[] more)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = contentRoot });
        builder.Logging.ClearProviders();
        builder.Services.AddJunisData();
        using var host = builder.Build();

        var root = new RootCommand("Junis.Server administration. Without a command, the server starts.")
        {
            OrganizationCommands(host.Services),
            KeyCommands(host.Services),
        };
        foreach (var command in more)
            root.Add(command(host.Services));
        return await root.Parse(args).InvokeAsync();
    }

    private static Command OrganizationCommands(IServiceProvider services)
    {
        var name = new Argument<string>("name") { Description = "The organization's name, e.g. acme" };
        var create = new Command("create", "Create an organization") { name };
        create.SetAction((parse, cancellationToken) => WithDatabaseAsync(services, async db =>
        {
            var wanted = parse.GetValue(name)!.Trim();
            if (wanted.Length is 0 or > 100)
                return Fail("The organization name must be 1 to 100 characters.");
            if (await db.Organizations.AnyAsync(o => o.Name == wanted, cancellationToken))
                return Fail($"An organization named '{wanted}' already exists.");

            var organization = db.Organizations.Add(new Organization { Name = wanted, CreatedAt = DateTime.UtcNow }).Entity;
            await db.SaveChangesAsync(cancellationToken);
            Console.WriteLine($"Created organization {organization.Name} ({organization.Id}).");
            return 0;
        }));

        var list = new Command("list", "List the organizations");
        list.SetAction((_, cancellationToken) => WithDatabaseAsync(services, async db =>
        {
            var organizations = await db.Organizations.AsNoTracking().OrderBy(o => o.Name)
                .Select(o => new { o.Name, o.Id, o.CreatedAt, Keys = db.ApiKeys.Count(k => k.OrganizationId == o.Id) })
                .ToListAsync(cancellationToken);
            WriteTable(["NAME", "ID", "CREATED", "KEYS"],
                organizations.Select(o => new[] { o.Name, o.Id.ToString(), Format(o.CreatedAt), o.Keys.ToString(CultureInfo.InvariantCulture) }));
            return 0;
        }));

        return new Command("orgs", "Organizations: every key and session belongs to one") { create, list };
    }

    private static Command KeyCommands(IServiceProvider services)
    {
        var org = new Option<string>("--org") { Description = "The organization's name", Required = true };
        var name = new Option<string>("--name") { Description = "What the key is for, e.g. \"voice bot\"", Required = true };
        var description = new Option<string?>("--description") { Description = "A longer note" };
        var scopes = new Option<string?>("--scopes") { Description = $"Comma-separated scopes (default: {string.Join(", ", Scopes.All)}); also {Scopes.AdminRead}" };
        var perMinute = new Option<string?>("--per-minute") { Description = "Requests per minute: a positive number or 'unlimited' (default: the deployment's)" };
        var perHour = new Option<string?>("--per-hour") { Description = "Requests per hour: a positive number or 'unlimited' (default: the deployment's)" };
        var expires = new Option<DateTime?>("--expires") { Description = "When the key stops working, e.g. 2027-01-01 (UTC)" };

        var create = new Command("create", "Create a key; its secret is printed once, here, and never again")
            { org, name, description, scopes, perMinute, perHour, expires };
        create.SetAction((parse, cancellationToken) => WithDatabaseAsync(services, async db =>
        {
            if (ParseScopes(parse.GetValue(scopes)) is not { } granted)
                return Fail($"--scopes takes a comma-separated list of: {string.Join(", ", Scopes.Known)}.");
            if (!TryParseLimit(parse.GetValue(perMinute), out var minuteLimit))
                return Fail("--per-minute takes a positive number or 'unlimited'.");
            if (!TryParseLimit(parse.GetValue(perHour), out var hourLimit))
                return Fail("--per-hour takes a positive number or 'unlimited'.");
            var expiresAt = parse.GetValue(expires) is { } date ? DateTime.SpecifyKind(date, DateTimeKind.Utc) : (DateTime?)null;
            if (expiresAt <= DateTime.UtcNow)
                return Fail("--expires must be in the future.");
            var keyName = parse.GetValue(name)!.Trim();
            if (keyName.Length is 0 or > 200)
                return Fail("--name must be 1 to 200 characters.");

            var orgName = parse.GetValue(org)!;
            var organization = await db.Organizations.FirstOrDefaultAsync(o => o.Name == orgName, cancellationToken);
            if (organization is null)
                return Fail($"No organization named '{orgName}'. Create it with: orgs create {orgName}");

            var secret = ApiKeySecret.Generate();
            var key = db.ApiKeys.Add(ApiKeySecret.NewKey(organization.Id, keyName, secret, granted, DateTime.UtcNow)).Entity;
            key.Description = parse.GetValue(description);
            key.PerMinute = minuteLimit;
            key.PerHour = hourLimit;
            key.ExpiresAt = expiresAt;
            await db.SaveChangesAsync(cancellationToken);
            await KeyChanges.NotifyAsync(db, cancellationToken);

            Console.WriteLine(secret);
            Console.Error.WriteLine($"Created key {key.Prefix}… '{key.Name}' ({key.Id}) in {organization.Name} with scopes {string.Join(", ", granted)}.");
            Console.Error.WriteLine("The secret above is shown only now; store it safely.");
            return 0;
        }));

        var listOrg = new Option<string?>("--org") { Description = "Only this organization's keys" };
        var list = new Command("list", "List keys (never their secrets)") { listOrg };
        list.SetAction((parse, cancellationToken) => WithDatabaseAsync(services, async db =>
        {
            var only = parse.GetValue(listOrg);
            var keys = await db.ApiKeys.AsNoTracking().Include(k => k.Organization)
                .Where(k => only == null || k.Organization!.Name == only)
                .OrderBy(k => k.Organization!.Name).ThenBy(k => k.CreatedAt)
                .ToListAsync(cancellationToken);
            var now = DateTime.UtcNow;
            WriteTable(["PREFIX", "ID", "ORG", "NAME", "SCOPES", "PER MINUTE", "PER HOUR", "LAST USED", "STATE"],
                keys.Select(k => new[]
                {
                    k.Prefix, k.Id.ToString(), k.Organization!.Name, k.Name, k.Scopes.Replace(' ', ','),
                    FormatLimit(k.PerMinute), FormatLimit(k.PerHour), k.LastUsedAt is { } used ? Format(used) : "never",
                    k.RevokedAt is not null ? "revoked" : k.ExpiresAt <= now ? "expired" : "active",
                }));
            return 0;
        }));

        var which = new Argument<string>("id-or-prefix") { Description = "The key's id, or its prefix as 'keys list' shows it" };
        var revoke = new Command("revoke", "Revoke a key; a running server refuses it within a second") { which };
        revoke.SetAction((parse, cancellationToken) => WithDatabaseAsync(services, async db =>
        {
            var wanted = parse.GetValue(which)!.TrimEnd('…');
            var matches = Guid.TryParse(wanted, out var id)
                ? await db.ApiKeys.Where(k => k.Id == id).ToListAsync(cancellationToken)
                : await db.ApiKeys.Where(k => k.Prefix == wanted).ToListAsync(cancellationToken);
            switch (matches)
            {
                case []:
                    return Fail($"No key with id or prefix '{wanted}'.");
                case [_, _, ..]:
                    return Fail($"'{wanted}' matches {matches.Count} keys; revoke by id instead.");
            }
            var key = matches[0];
            if (key.RevokedAt is not null)
                return Fail($"Key {key.Prefix}… was already revoked on {Format(key.RevokedAt.Value)}.");
            key.RevokedAt = DateTime.UtcNow;
            await db.SaveChangesAsync(cancellationToken);
            await KeyChanges.NotifyAsync(db, cancellationToken);
            Console.WriteLine($"Revoked key {key.Prefix}… '{key.Name}' ({key.Id}).");
            return 0;
        }));

        return new Command("keys", "API keys") { create, list, revoke };
    }

    internal static async Task<int> WithDatabaseAsync(IServiceProvider services, Func<JunisDb, Task<int>> action)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JunisDb>();
        await DatabaseStartup.MigrateAsync(db, CancellationToken.None);
        return await action(db);
    }

    private static IReadOnlyList<string>? ParseScopes(string? text)
    {
        if (text is null)
            return Scopes.All;
        var wanted = text.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
        return wanted.Count > 0 && wanted.All(Scopes.Known.Contains) ? wanted : null;
    }

    private static bool TryParseLimit(string? text, out int? limit)
    {
        limit = null;
        if (text is null)
            return true;
        if (text.Equals("unlimited", StringComparison.OrdinalIgnoreCase))
        {
            limit = RateLimit.Unlimited;
            return true;
        }
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0)
        {
            limit = value;
            return true;
        }
        return false;
    }

    private static string FormatLimit(int? limit) => limit switch
    {
        null => "default",
        RateLimit.Unlimited => "unlimited",
        _ => limit.Value.ToString(CultureInfo.InvariantCulture),
    };

    internal static string Format(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + "Z";

    internal static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 1;
    }

    internal static void WriteTable(string[] header, IEnumerable<string[]> rows)
    {
        var all = rows.Prepend(header).ToList();
        var widths = header.Select((_, i) => all.Max(r => r[i].Length)).ToArray();
        foreach (var row in all)
            Console.WriteLine(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
    }
}
