using System.Net;
using System.Text.Encodings.Web;
using Junis.Server.Auth.Memory;
using Junis.Server.Auth.PostgreSql;
using Junis.Server.Auth.Sqlite;
using Junis.Server.Auth.Storage;
using Junis.Server.Data;
using Junis.Server.Errors;
using Junis.Server.Telemetry;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Junis.Server.Auth;

/// <summary>
/// The API-key scheme: the key comes in <c>X-API-Key</c> (Junis's header) or as <c>Authorization: Bearer</c>
/// (what the OpenAI SDKs and ElevenLabs send), and is checked against the in-memory <see cref="ApiKeyDirectory"/>.
/// </summary>
public sealed class ApiKeyAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    ApiKeyDirectory keys, ILimitCounters failures, IOptions<RateLimitOptions> limits, TimeProvider clock, ServerMetrics metrics)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-API-Key";

    // One message for unknown, malformed, revoked and expired keys: the answer must not tell which.
    private const string InvalidKeyMessage = "Invalid API key. Check the key and that it has not been revoked or expired.";
    private const string MissingKeyMessage = "API key required. Send it in the X-API-Key header or as 'Authorization: Bearer <key>'.";

    /// <summary>Until when the request's address is refused its failed attempts, as authenticating it found (a handler serves one request).</summary>
    private DateTimeOffset? _blockedUntil;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (PresentedKey(Request).IsEmpty)
            return AuthenticateResult.NoResult();

        // The key before the address: a valid key is never refused for what others behind the same address got wrong.
        if (FindCaller() is { } caller)
        {
            keys.MarkUsed(caller);
            return AuthenticateResult.Success(new AuthenticationTicket(caller.Principal, SchemeName));
        }

        var address = Context.Connection.RemoteIpAddress ?? IPAddress.None;
        _blockedUntil = await failures.RecordFailureAsync(address, FailedAuthPerMinute, Context.RequestAborted);
        return AuthenticateResult.Fail(_blockedUntil is null ? InvalidKey : TooManyFailures);
    }

    // Apart from the async method: a span cannot live across its awaits.
    private Caller? FindCaller()
    {
        var presented = PresentedKey(Request);
        return ApiKeySecret.IsWellFormed(presented) && keys.TryFind(ApiKeySecret.Hash(presented), out var caller) ? caller : null;
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        await HandleAuthenticateOnceSafeAsync();
        if (_blockedUntil is { } until)
        {
            var wait = until - clock.GetUtcNow();
            metrics.RateLimitRefusals.Add(1, new KeyValuePair<string, object?>(RateLimitMiddleware.LimitAttribute, TooManyFailures));
            RateLimitMiddleware.Refuse(Context, wait);
            await ApiErrors.WriteAsync(Context, StatusCodes.Status429TooManyRequests,
                "Too many failed authentications from this address; retry later.", code: "too_many_failed_authentications");
            return;
        }

        Response.Headers.WWWAuthenticate = SchemeName;
        var missing = PresentedKey(Request).IsEmpty;
        metrics.FailedAuthentications.Add(1, new KeyValuePair<string, object?>("error.type", missing ? "missing_api_key" : InvalidKey));
        await (missing
            ? ApiErrors.WriteAsync(Context, StatusCodes.Status401Unauthorized, MissingKeyMessage, code: "missing_api_key")
            : ApiErrors.WriteAsync(Context, StatusCodes.Status401Unauthorized, InvalidKeyMessage, code: "invalid_api_key"));
    }

    private const string InvalidKey = "invalid_api_key", TooManyFailures = "too_many_failed_authentications";

    private int FailedAuthPerMinute => limits.Value.FailedAuthPerMinute;

    /// <summary>The key as sent, or empty; never logged.</summary>
    private static ReadOnlySpan<char> PresentedKey(HttpRequest request)
    {
        var apiKey = request.Headers[HeaderName].ToString();
        if (apiKey.Length > 0)
            return apiKey.AsSpan().Trim();

        var authorization = request.Headers.Authorization.ToString().AsSpan().Trim();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : [];
    }
}

public static class ApiKeyAuthenticationExtensions
{
    public static IServiceCollection AddApiKeyAuthentication(this IServiceCollection services)
    {
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IApiKeyStore>(sp => sp.Store() == DataStore.EfCore
            ? ActivatorUtilities.CreateInstance<EfCoreApiKeyStore>(sp)
            : ActivatorUtilities.CreateInstance<SqliteApiKeyStore>(sp));
        services.AddSingleton<ApiKeyDirectory>();
        // In the database when several instances may share it, in one round trip on PostgreSQL; in memory on SQLite's fast path.
        services.AddSingleton<ILimitCounters>(sp => sp.Provider() == DatabaseProvider.PostgreSQL
            ? ActivatorUtilities.CreateInstance<PostgresLimitCounters>(sp)
            : sp.Store() == DataStore.EfCore
            ? ActivatorUtilities.CreateInstance<EfCoreLimitCounters>(sp)
            : ActivatorUtilities.CreateInstance<MemoryLimitCounters>(sp));
        services.AddSingleton<BootstrapKey>();
        services.AddHostedService(sp => ActivatorUtilities.CreateInstance<ApiKeyRefresher>(sp,
            [.. sp.Provider() == DatabaseProvider.PostgreSQL ? [ActivatorUtilities.CreateInstance<KeyChanges>(sp)] : Array.Empty<object>()]));
        // The core services only: the full AddAuthentication also starts Data Protection, which API keys never use.
        services.AddAuthenticationCore(o => o.DefaultScheme = ApiKeyAuthentication.SchemeName).AddWebEncoders();
        new AuthenticationBuilder(services)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        services.AddAuthorization();
        return services;
    }
}
