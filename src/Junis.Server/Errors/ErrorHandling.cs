using Microsoft.AspNetCore.Diagnostics;

namespace Junis.Server.Errors;

public static class ErrorHandling
{
    /// <summary>
    /// Makes every error the framework itself produces (unknown route, wrong method, oversized body,
    /// an unexpected exception) leave in the OpenAI envelope, so SDKs always find <c>error.message</c>.
    /// </summary>
    public static IApplicationBuilder UseOpenAIErrors(this IApplicationBuilder app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = context =>
            {
                var failure = context.Features.Get<IExceptionHandlerFeature>()?.Error;
                if (failure is not null && RequestBodyErrors.Describe(failure) is { } refusal)
                    return ApiErrors.WriteAsync(context, refusal.Status, refusal.Message, code: refusal.Code);
                var status = failure is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError;
                var (message, code) = ApiErrors.ForBareStatus(status, context.Request);
                return ApiErrors.WriteAsync(context, status, message, code: code);
            },
            // Client errors are the client's business; only real failures deserve an error log line.
            SuppressDiagnosticsCallback = c =>
                c.Exception is BadHttpRequestException || RequestBodyErrors.Describe(c.Exception) is not null,
        });

        app.UseStatusCodePages(context =>
        {
            var http = context.HttpContext;
            var (message, code) = ApiErrors.ForBareStatus(http.Response.StatusCode, http.Request);
            return ApiErrors.WriteAsync(http, http.Response.StatusCode, message, code: code);
        });
        return app;
    }
}
