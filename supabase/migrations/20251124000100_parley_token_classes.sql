-- Parley: every call's kind (chat | image), its token classes, its tool calls and what prompt
-- caching saved (issue 18). The token classes are parts of input_tokens (cache reads, cache
-- writes) and output_tokens (reasoning), never added to them. saved_cost is NULL when the call
-- used no prompt cache; negative when writing the cache cost more than reading it saved.
alter table public.request_logs add column if not exists kind text not null default 'chat';
alter table public.request_logs drop constraint if exists request_logs_kind_check;
alter table public.request_logs add constraint request_logs_kind_check check (kind in ('chat', 'image'));
alter table public.request_logs add column if not exists reasoning_tokens integer not null default 0;
alter table public.request_logs add column if not exists cache_read_tokens integer not null default 0;
alter table public.request_logs add column if not exists cache_write_tokens integer not null default 0;
alter table public.request_logs add column if not exists tool_calls integer not null default 0;
alter table public.request_logs add column if not exists saved_cost numeric;

-- parley_record_calls as in 20251122000300_parley_usage.sql, storing the new columns too.
create or replace function public.parley_record_calls(p_rows jsonb) returns integer
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
  inserted integer;
begin
  with incoming as (
    select r.* from jsonb_to_recordset(p_rows) as r(
      call_id text, created_at timestamptz, user_id text, service_type text, model text,
      provider text, provider_model text, status text, error_class text, error text,
      input_tokens integer, output_tokens integer, total_tokens integer, total_cost numeric,
      response_time_ms double precision, ttft_ms double precision, fallback_of text,
      is_demo boolean, messages jsonb, response text, metadata jsonb, kind text,
      reasoning_tokens integer, cache_read_tokens integer, cache_write_tokens integer,
      tool_calls integer, saved_cost numeric)
    order by r.call_id
  ), new_rows as (
    insert into public.request_logs (
      litellm_call_id, created_at, user_id, service_type, model, provider, provider_model,
      status, error_class, error, input_tokens, output_tokens, total_tokens, total_cost,
      response_time_ms, ttft_ms, fallback_of, is_demo, messages, response, metadata,
      kind, reasoning_tokens, cache_read_tokens, cache_write_tokens, tool_calls, saved_cost)
    select call_id, coalesce(created_at, now()), user_id, service_type, model, provider,
           coalesce(provider_model, ''), status, error_class, error, coalesce(input_tokens, 0),
           coalesce(output_tokens, 0), coalesce(total_tokens, 0), total_cost, response_time_ms,
           ttft_ms, fallback_of, coalesce(is_demo, false), messages, response,
           coalesce(metadata, '{}'::jsonb), coalesce(kind, 'chat'), coalesce(reasoning_tokens, 0),
           coalesce(cache_read_tokens, 0), coalesce(cache_write_tokens, 0),
           coalesce(tool_calls, 0), saved_cost
    from incoming
    on conflict (litellm_call_id) do nothing
    returning created_at, user_id, provider, model, service_type, is_demo, status,
              input_tokens, output_tokens, total_tokens, total_cost
  ), rolled_up as (
    insert into public.usage_daily as u (
      day, user_id, provider, model, service_type, is_demo, calls, failures,
      input_tokens, output_tokens, total_tokens, cost, unpriced_calls)
    select (created_at at time zone 'UTC')::date, user_id, provider, model, service_type,
           is_demo, count(*), count(*) filter (where status = 'failure'), sum(input_tokens),
           sum(output_tokens), sum(total_tokens), coalesce(sum(total_cost), 0),
           count(*) filter (where total_cost is null)
    from new_rows
    group by 1, 2, 3, 4, 5, 6
    order by 1, 2, 3, 4, 5, 6
    on conflict (day, user_id, provider, model, service_type, is_demo) do update set
      calls = u.calls + excluded.calls,
      failures = u.failures + excluded.failures,
      input_tokens = u.input_tokens + excluded.input_tokens,
      output_tokens = u.output_tokens + excluded.output_tokens,
      total_tokens = u.total_tokens + excluded.total_tokens,
      cost = u.cost + excluded.cost,
      unpriced_calls = u.unpriced_calls + excluded.unpriced_calls
    returning 1
  )
  select count(*) into inserted from new_rows;
  return inserted;
end
$$;

revoke execute on function public.parley_record_calls(jsonb) from public, anon, authenticated;
grant execute on function public.parley_record_calls(jsonb) to service_role;
