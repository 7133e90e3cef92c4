using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Junis.Server.Errors;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Junis.Server;

/// <summary>
/// The <c>page</c> and <c>page_size</c> of Junis's lists: 1-based pages, 20 to a page unless asked, at most 100; anything
/// else is a 400 naming the parameter.
/// </summary>
public static class Paging
{
    public const int MaxPageSize = 100;

    public static bool TryParse(string? page, string? pageSize, out int number, out int size,
        [NotNullWhen(false)] out JsonHttpResult<ErrorEnvelope>? problem)
    {
        size = 20;
        problem = null;
        number = 1;
        if (page is not null && (!int.TryParse(page, NumberStyles.None, CultureInfo.InvariantCulture, out number) || number < 1))
            problem = ApiErrors.BadRequest("'page' must be a whole number from 1.", "page");
        else if (pageSize is not null && (!int.TryParse(pageSize, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size is < 1 or > MaxPageSize))
            problem = ApiErrors.BadRequest($"'page_size' must be a whole number from 1 to {MaxPageSize}.", "page_size");
        // Pages past what an int can skip to hold nothing anyone could have stored.
        else if ((long)number * size > int.MaxValue)
            problem = ApiErrors.BadRequest("'page' is beyond the last page.", "page");
        return problem is null;
    }
}
