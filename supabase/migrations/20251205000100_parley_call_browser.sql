-- Parley: the call browser over REST. The Supabase store cannot send SQL, so the two reads the
-- /calls page, GET /v1/responses/{id} and datasets-from-calls make on Postgres have a function
-- here, called as POST /rest/v1/rpc/<fn> (core/store/supabase.py):
--
--   parley_calls(p_query)   one keyset page of request_logs (core/store/call_pages.py)
--   parley_call(p_call_id)  one call and the failed attempts its fallback replaced
--
-- Tenancy is the Postgres store's. parley_calls reads as its owner, as PostgresStore.calls
-- does (under row-level security Postgres keeps numeric and row-value comparisons out of an
-- index scan, so a deep page would scan), and narrows a signed-in caller who is not an admin
-- to their own calls first. parley_call runs as the caller, so the request_logs policy
-- decides: a user sees their own call, an admin any, nobody another user's by its id.
-- Prompt and answer text come back as they were stored: parley.privacy applied when recorded.

-- The text elements of a JSON array (null or not an array: an empty list).
create or replace function public.parley_text_list(p_list jsonb) returns text[]
language sql immutable
set search_path = public, pg_temp
as $$
  select case when jsonb_typeof(p_list) = 'array'
    then array(select jsonb_array_elements_text(p_list)) else array[]::text[] end
$$;

-- p_query: {"users", "keys", "models", "providers", "services": JSON arrays of text or null,
-- "status": success|failure|null, "fallback": bool|null, "since", "until": ISO timestamps,
-- "min_cost", "max_cost": numbers, "sort": time|cost, "limit": 1..500,
-- "after": [sort key, id] of the previous page's last row, or null}.
-- Returns up to limit + 1 rows (one more tells that another page follows), each with its
-- sort_key, in page order.
create or replace function public.parley_calls(p_query jsonb) returns jsonb
language plpgsql stable security definer
set search_path = public, pg_temp
as $$
declare
  caller text := public.parley_request_user();
  q jsonb := coalesce(p_query, '{}'::jsonb);
  sort text := coalesce(q ->> 'sort', 'time');
  status text := q ->> 'status';
  page_size integer;
  sort_key text;
  filters text[] := array['users', 'keys', 'models', 'providers', 'services'];
  columns text[] := array['user_id', 'key_id', 'model', 'provider', 'service_type'];
  lists jsonb[] := array[]::jsonb[];
  conditions text[] := array[]::text[];
  page jsonb;
begin
  if sort not in ('time', 'cost') then
    raise exception 'Calls sort by ''time'' or ''cost'', not %.', quote_literal(sort)
      using errcode = '22023';
  end if;
  if status is not null and status not in ('success', 'failure') then
    raise exception 'Status is ''success'' or ''failure'', not %.', quote_literal(status)
      using errcode = '22023';
  end if;
  page_size := (q ->> 'limit')::integer;
  if page_size is null or page_size not between 1 and 500 then
    raise exception 'A page holds 1 to 500 calls.' using errcode = '22023';
  end if;
  if caller is not null and not public.parley_is_admin() then
    q := jsonb_set(q, '{users}', case
      when jsonb_typeof(q -> 'users') is distinct from 'array' or q -> 'users' ? caller
        then jsonb_build_array(caller) else '[]'::jsonb end);
  end if;
  for i in 1 .. 5 loop
    lists := lists || coalesce(q -> filters[i], 'null'::jsonb);
    if jsonb_typeof(lists[i]) = 'array' then
      conditions := conditions || case when jsonb_array_length(lists[i]) = 0 then 'false'
                                       else format('%I = any($%s)', columns[i], i) end;
    elsif jsonb_typeof(lists[i]) <> 'null' then
      raise exception '% must be a list or null.', filters[i] using errcode = '22023';
    end if;
  end loop;
  if status is not null then  -- a literal, so a partial index on status applies
    conditions := conditions || format('status = %L', status);
  end if;
  if jsonb_typeof(q -> 'fallback') = 'boolean' then
    conditions := conditions || case when (q ->> 'fallback')::boolean
      then 'fallback_of is not null' else 'fallback_of is null' end;
  end if;
  if q ->> 'since' is not null then conditions := conditions || 'created_at >= $6'::text; end if;
  if q ->> 'until' is not null then conditions := conditions || 'created_at < $7'::text; end if;
  if q ->> 'min_cost' is not null then conditions := conditions || 'total_cost >= $8'::text; end if;
  if q ->> 'max_cost' is not null then conditions := conditions || 'total_cost <= $9'::text; end if;
  sort_key := case sort when 'time' then 'created_at' else 'coalesce(total_cost, -1.0)' end;
  if jsonb_typeof(q -> 'after') = 'array' then
    conditions := conditions || format('%1$s <= $10::%2$s and (%1$s < $10::%2$s or id < $11)',
                                       sort_key, case sort when 'time' then 'timestamptz' else 'numeric' end);
  end if;
  execute format(
    'select coalesce(jsonb_agg(to_jsonb(r) order by r.sort_key desc, r.id desc), ''[]''::jsonb) '
    'from (select id, litellm_call_id, created_at, user_id, service_type, model, provider, '
    'status, error_class, input_tokens, output_tokens, total_cost, response_time_ms, ttft_ms, '
    'fallback_of, is_demo, kind, reasoning_tokens, cache_read_tokens, cache_write_tokens, '
    'tool_calls, saved_cost, key_id, %1$s as sort_key from public.request_logs where %2$s '
    'order by %1$s desc, id desc limit $12) r',
    sort_key, coalesce(nullif(array_to_string(conditions, ' and '), ''), 'true'))
  into page
  using public.parley_text_list(lists[1]), public.parley_text_list(lists[2]),
        public.parley_text_list(lists[3]), public.parley_text_list(lists[4]),
        public.parley_text_list(lists[5]),
        (q ->> 'since')::timestamptz, (q ->> 'until')::timestamptz,
        (q ->> 'min_cost')::numeric, (q ->> 'max_cost')::numeric,
        q -> 'after' ->> 0, (q -> 'after' ->> 1)::bigint, page_size + 1;
  return page;
end
$$;

-- One call (p_call_id) and its attempts (call ids p_call_id || '.<n>'), by id, each with the
-- columns of core/store/call_pages.py DETAIL_COLUMNS; '[]' when the caller can see none.
create or replace function public.parley_call(p_call_id text) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(to_jsonb(r) order by r.id), '[]'::jsonb)
  from (select id, litellm_call_id, created_at, user_id, service_type, model, provider, status,
               error_class, input_tokens, output_tokens, total_cost, response_time_ms, ttft_ms,
               fallback_of, is_demo, kind, reasoning_tokens, cache_read_tokens,
               cache_write_tokens, tool_calls, saved_cost, key_id, provider_model, error,
               total_tokens, messages, response, metadata
        from public.request_logs
        where litellm_call_id = p_call_id or starts_with(litellm_call_id, p_call_id || '.')) r
$$;

revoke execute on function public.parley_text_list(jsonb) from public, anon;
grant execute on function public.parley_text_list(jsonb) to authenticated, service_role;
revoke execute on function public.parley_calls(jsonb) from public, anon;
grant execute on function public.parley_calls(jsonb) to authenticated, service_role;
revoke execute on function public.parley_call(text) from public, anon;
grant execute on function public.parley_call(text) to authenticated, service_role;
