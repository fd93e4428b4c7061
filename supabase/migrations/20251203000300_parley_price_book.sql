-- The dated price book (core/price_book.py; SQLite: m013_price_book): one entry per model and
-- valid_from, USD per token for each token class. request_logs.price_id names the entry a call
-- was priced with, provider_cost the provider's own figure (OpenRouter's usage.cost). A
-- recorded cost never changes: a trigger refuses to update it. provider_bills holds imported
-- provider cost lines (core/console/reconcile.py).
create table if not exists public.price_book (
  id bigserial primary key,
  model text not null,
  provider_model text not null default '',
  valid_from timestamptz not null,
  input numeric,
  output numeric,
  cache_read numeric,
  cache_write numeric,
  reasoning numeric,
  image numeric,
  tiers jsonb not null default '{}'::jsonb,
  source text not null check (source in ('litellm', 'model_info', 'manual')),
  created_by text not null default '',
  created_at timestamptz not null default now()
);
create index if not exists price_book_model_idx on public.price_book (model, valid_from);
alter table public.price_book enable row level security;
revoke all on table public.price_book from public, anon, authenticated;
grant select on table public.price_book to authenticated;
grant select, insert on table public.price_book to service_role;
grant usage on sequence public.price_book_id_seq to service_role;
drop policy if exists price_book_read on public.price_book;
create policy price_book_read on public.price_book for select to authenticated using (true);
drop policy if exists price_book_service on public.price_book;
create policy price_book_service on public.price_book for all to service_role using (true) with check (true);

alter table public.request_logs add column if not exists price_id bigint references public.price_book (id);
alter table public.request_logs add column if not exists provider_cost numeric;

create or replace function public.parley_cost_is_final() returns trigger
language plpgsql as $$
begin
  if old.total_cost is distinct from new.total_cost or old.price_id is distinct from new.price_id then
    raise exception 'a recorded cost never changes' using errcode = 'P0001';
  end if;
  return new;
end
$$;
drop trigger if exists request_logs_cost_is_final on public.request_logs;
create trigger request_logs_cost_is_final before update on public.request_logs
  for each row execute function public.parley_cost_is_final();

create table if not exists public.provider_bills (
  id bigserial primary key,
  provider text not null,
  day date not null,
  model text not null,
  token_class text not null default 'total',
  tokens bigint,
  billed numeric not null,
  source_file text not null default '',
  imported_at timestamptz not null default now(),
  unique (provider, day, model, token_class)
);
alter table public.provider_bills enable row level security;
revoke all on table public.provider_bills from public, anon, authenticated;
grant select on table public.provider_bills to authenticated;
grant select, insert, update on table public.provider_bills to service_role;
grant usage on sequence public.provider_bills_id_seq to service_role;
drop policy if exists provider_bills_read_admins on public.provider_bills;
create policy provider_bills_read_admins on public.provider_bills for select to authenticated
  using ((select public.parley_is_admin()));
drop policy if exists provider_bills_service on public.provider_bills;
create policy provider_bills_service on public.provider_bills for all to service_role using (true) with check (true);

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
      tool_calls integer, saved_cost numeric, key_id text, cache_hit boolean,
      price_id bigint, provider_cost numeric)
    order by r.call_id
  ), new_rows as (
    insert into public.request_logs (
      litellm_call_id, created_at, user_id, service_type, model, provider, provider_model,
      status, error_class, error, input_tokens, output_tokens, total_tokens, total_cost,
      response_time_ms, ttft_ms, fallback_of, is_demo, messages, response, metadata,
      kind, reasoning_tokens, cache_read_tokens, cache_write_tokens, tool_calls, saved_cost,
      key_id, cache_hit, price_id, provider_cost)
    select call_id, coalesce(created_at, now()), user_id, service_type, model, provider,
           coalesce(provider_model, ''), status, error_class, error, coalesce(input_tokens, 0),
           coalesce(output_tokens, 0), coalesce(total_tokens, 0), total_cost, response_time_ms,
           ttft_ms, fallback_of, coalesce(is_demo, false), messages, response,
           coalesce(metadata, '{}'::jsonb), coalesce(kind, 'chat'), coalesce(reasoning_tokens, 0),
           coalesce(cache_read_tokens, 0), coalesce(cache_write_tokens, 0),
           coalesce(tool_calls, 0), saved_cost, key_id, coalesce(cache_hit, false),
           price_id, provider_cost
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
