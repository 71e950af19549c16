"""Page fragments: parts of a page kept as rendered HTML until a write changes what they show.

The read-models are cached (healthscore/read_model_cache.py), yet a page served from them still
rendered its templates on every request: the dashboard's table, summary and cards were most of
a cached request's CPU. A fragment is a partial template rendered once and kept like a
read-model: its key holds the template, the values of the generations it depends on and what
else its markup varies with (the visible scope, today, the user for a part that is the user's
own, the query string for filters and `{% querystring %}` links). A page then renders only its
thin layout (base.html, the heading) around the fragments, and computes none of its
read-models: the context values are `LazyPart`s, evaluated only when a fragment that reads them
has to be rendered.

A fragment is rendered from the context names it `reads` and nothing else: no context
processors, so no `user`, `perms` or `messages` it could show without keying them, and no
request unless it declares that it varies with the query string. Its `{% csrf_token %}`
writes a placeholder that each response replaces with its own token, so no cached HTML holds
a token.
"""

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template import Context
from django.template.loader import get_template
from django.utils.functional import SimpleLazyObject, empty
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from healthscore.read_model_cache import CacheEntry, cache_found, cache_keys, cache_store

# What `{% csrf_token %}` writes in a fragment (letters and dashes: escaping keeps it as it
# is); replaced in every response by the request's token.
CSRF_PLACEHOLDER = "csrf-token-of-the-request"


# What a template's variable lookup silences (django.template.base.Variable).
LOOKUP_ERRORS = (TypeError, AttributeError, KeyError, ValueError, IndexError)


class FragmentError(RuntimeError):
    """A fragment could not be rendered."""


class LazyPart(SimpleLazyObject):
    """A value of a page's context computed on first use: a page whose fragments all come
    from the cache computes none of them. Templates and tests use it as the value itself."""

    def resolve(self) -> Any:
        if self._wrapped is empty:
            self._setup()
        return self._wrapped


def lazy(function: Callable[[], Any]) -> LazyPart:
    return LazyPart(function)


@dataclass(frozen=True)
class Fragment:
    """A partial `template` served from the cache until one of the generations it
    `depends_on` is bumped. `key` names what else the markup varies with; `reads` are the
    context names it is rendered from; `extra` is context of its own (keyed too).
    `varies_with_query`: the markup shows the request's query string (a bound filter form,
    `{% querystring %}` links), which then keys it; without it the template has no request.
    `per_response`: text the markup shows that is not part of its key (an address with the
    account's id, in a form otherwise the same for every account): rendered as a placeholder,
    replaced in each response like the CSRF token, so that one cached entry serves all."""

    template: str
    depends_on: tuple[str, ...]
    key: dict[str, Any]
    reads: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)
    varies_with_query: bool = False
    per_response: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PageValue:
    """A small value a page's context needs outright (not lazily: the page tests it, or
    shows it outside any fragment), cached like a fragment and fetched with them. `compute`
    makes it on a miss."""

    name: str
    depends_on: tuple[str, ...]
    key: dict[str, Any]
    compute: Callable[[], Any]


class PageParts(Mapping):
    """The rendered fragments of one response, by name, as the page's layout shows them:
    `{{ parts.table }}`. Fetched from the cache together when made (one round trip for all
    their generations, one for all of them); a fragment missing from the cache is rendered
    where the layout shows it, then stored. A fragment that reads one of the `fresh` context
    names (a bound form with its errors, a "saved" note) is rendered for this response only:
    never read from the cache nor stored in it. Each comes with this request's CSRF token.
    The `values` are fetched with them and put in `context` under their names at once."""

    def __init__(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        fragments: dict[str, Fragment],
        *,
        values: dict[str, PageValue] | None = None,
        fresh: Collection[str] = (),
    ) -> None:
        self._request, self._context, self._fragments = request, context, fragments
        values = values or {}
        cached = [name for name, f in fragments.items() if not set(f.reads) & set(fresh)]
        entries = [
            CacheEntry(
                f"fragment:{fragments[name].template}",
                fragments[name].depends_on,
                _arguments(request, fragments[name]),
            )
            for name in cached
        ] + [CacheEntry(f"value:{v.name}", v.depends_on, v.key) for v in values.values()]
        keys = cache_keys(entries)
        self._keys = dict(zip(cached, keys[: len(cached)], strict=True))
        found = cache_found(keys)
        self._stored = {name: found[key] for name, key in self._keys.items() if key in found}
        computed = {}
        for (name, value), key in zip(values.items(), keys[len(cached) :], strict=True):
            if key not in found:
                computed[key] = found[key] = value.compute()
            context[name] = found[key]
        if computed:
            cache_store(computed)
        self._html: dict[str, SafeString] = {}
        self._token: str | None = None

    def __getitem__(self, name: str) -> SafeString:
        if name not in self._html:
            fragment = self._fragments[name]  # KeyError: the layout shows no such part
            markup = self._stored.get(name)
            if markup is None:
                try:
                    markup = _render(self._request, self._context, fragment)
                except LOOKUP_ERRORS as error:
                    # The layout's `{{ parts.name }}` would take these for a missing
                    # variable and show nothing: a part that fails fails the response.
                    raise FragmentError(f"The fragment {fragment.template} failed") from error
                if name in self._keys:
                    cache_store({self._keys[name]: markup})
            # autoescaped templates; what is put in per response is escaped here
            self._html[name] = mark_safe(self._for_this_response(fragment, markup))
        return self._html[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fragments)

    def __len__(self) -> int:
        return len(self._fragments)

    def _for_this_response(self, fragment: Fragment, markup: str) -> str:
        """The markup with this response's texts in place of their placeholders: the
        fragment's `per_response` texts and the request's CSRF token."""
        for placeholder, text in _per_response(fragment).items():
            markup = markup.replace(placeholder, conditional_escape(text))
        if CSRF_PLACEHOLDER not in markup:
            return markup
        self._token = self._token or get_token(self._request)
        return markup.replace(CSRF_PLACEHOLDER, self._token)


def _arguments(request: HttpRequest, fragment: Fragment) -> dict[str, Any]:
    arguments = {**fragment.key, **fragment.extra}
    if fragment.varies_with_query:
        arguments["query"] = request.GET.urlencode()
    return arguments


def _placeholder(name: str) -> str:
    """What a per-response text is rendered as (letters and dashes: escaping keeps it)."""
    return f"per-response-{name.replace('_', '-')}"


def _per_response(fragment: Fragment) -> dict[str, str]:
    return {_placeholder(name): text for name, text in fragment.per_response.items()}


def _render(request: HttpRequest, context: dict[str, Any], fragment: Fragment) -> str:
    values = {
        name: value.resolve() if isinstance(value, LazyPart) else value
        for name, value in ((name, context[name]) for name in fragment.reads if name in context)
    }
    placeholders = {name: _placeholder(name) for name in fragment.per_response}
    template_context = Context(
        {**values, **fragment.extra, **placeholders, "csrf_token": CSRF_PLACEHOLDER}
    )
    if fragment.varies_with_query:
        # `{% querystring %}` reads the request; only a fragment keyed by the query gets it.
        template_context.request = request
    return get_template(fragment.template).template.render(template_context)
