-- Parley: usage_classes_daily (core/store/token_classes.py), the console's sums of what calls
-- did beyond text: image generations (and the images they made), reasoning, cache read and
-- cache write tokens, tool calls, and what prompt caching saved (negative where cache writes
-- cost more than reads saved; a response-cache hit's saving, request_logs.cache_hit, is the
-- console's cache_savings and not summed here). Kept current by a statement trigger on request_logs inserts,
-- whatever inserted them; read only through parley_token_classes, under row-level security.

create table if not exists public.usage_classes_daily (
  day date not null, user_id text not null, provider text not null, model text not null,
  service_type text not null, is_demo boolean not null default false,
  image_calls bigint not null default 0, images bigint not null default 0,
  reasoning_tokens bigint not null default 0, cache_read_tokens bigint not null default 0,
  cache_write_tokens bigint not null default 0, tool_calls bigint not null default 0,
  saved_cost numeric not null default 0,
  primary key (day, user_id, provider, model, service_type, is_demo)
);
alter table public.usage_classes_daily enable row level security;
revoke all on table public.usage_classes_daily from public, anon, authenticated;
grant select on table public.usage_classes_daily to authenticated;
grant select, insert, update, delete on table public.usage_classes_daily to service_role;
drop policy if exists usage_classes_daily_read on public.usage_classes_daily;
create policy usage_classes_daily_read on public.usage_classes_daily for select to authenticated
  using (user_id = (select public.parley_current_user_id()) or (select public.parley_is_admin()));
drop policy if exists usage_classes_daily_service on public.usage_classes_daily;
create policy usage_classes_daily_service on public.usage_classes_daily
  for all to service_role using (true) with check (true);

-- What a set of request_logs rows adds (the trigger, and the backfill below).
create or replace function public.parley_fold_usage_classes(p_rows public.request_logs[]) returns void
language sql volatile
set search_path = public, pg_temp
as $$
  insert into public.usage_classes_daily as u (
      day, user_id, provider, model, service_type, is_demo, image_calls, images,
      reasoning_tokens, cache_read_tokens, cache_write_tokens, tool_calls, saved_cost)
  select (r.created_at at time zone 'UTC')::date, r.user_id, r.provider, r.model, r.service_type,
         r.is_demo,
         count(*) filter (where r.kind = 'image' and r.status = 'success'),
         coalesce(sum(coalesce((r.metadata ->> 'images')::bigint, 1))
                  filter (where r.kind = 'image' and r.status = 'success'), 0),
         sum(r.reasoning_tokens), sum(r.cache_read_tokens), sum(r.cache_write_tokens),
         sum(r.tool_calls), coalesce(sum(r.saved_cost) filter (where not r.cache_hit), 0)
  from unnest(p_rows) r
  group by 1, 2, 3, 4, 5, 6
  order by 1, 2, 3, 4, 5, 6
  on conflict (day, user_id, provider, model, service_type, is_demo) do update set
    image_calls = u.image_calls + excluded.image_calls,
    images = u.images + excluded.images,
    reasoning_tokens = u.reasoning_tokens + excluded.reasoning_tokens,
    cache_read_tokens = u.cache_read_tokens + excluded.cache_read_tokens,
    cache_write_tokens = u.cache_write_tokens + excluded.cache_write_tokens,
    tool_calls = u.tool_calls + excluded.tool_calls,
    saved_cost = u.saved_cost + excluded.saved_cost
$$;

create or replace function public.parley_usage_classes_trigger() returns trigger
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
  perform public.parley_fold_usage_classes(array(select n::public.request_logs from new_rows n));
  return null;
end
$$;

drop trigger if exists request_logs_usage_classes on public.request_logs;
create trigger request_logs_usage_classes after insert on public.request_logs
  referencing new table as new_rows
  for each statement execute function public.parley_usage_classes_trigger();

-- Fill it from what is already stored (nothing, on a fresh database).
truncate public.usage_classes_daily;
select public.parley_fold_usage_classes(array(select r from public.request_logs r));

-- The sums over p_query's days and filters (RollupQuery.to_json: since, until, users,
-- providers, models, services, demo; a null or absent filter means all), under the caller's
-- row-level security.
create or replace function public.parley_token_classes(p_query jsonb) returns json
language sql stable
set search_path = public, pg_temp
as $$
  select json_build_object(
    'image_calls', coalesce(sum(image_calls), 0), 'images', coalesce(sum(images), 0),
    'reasoning_tokens', coalesce(sum(reasoning_tokens), 0),
    'cache_read_tokens', coalesce(sum(cache_read_tokens), 0),
    'cache_write_tokens', coalesce(sum(cache_write_tokens), 0),
    'tool_calls', coalesce(sum(tool_calls), 0), 'saved_cost', coalesce(sum(saved_cost), 0))
  from public.usage_classes_daily
  where (jsonb_typeof(p_query -> 'since') is distinct from 'string' or day >= (p_query ->> 'since')::date)
    and (jsonb_typeof(p_query -> 'until') is distinct from 'string' or day <= (p_query ->> 'until')::date)
    and (jsonb_typeof(p_query -> 'users') is distinct from 'array'
         or user_id in (select jsonb_array_elements_text(p_query -> 'users')))
    and (jsonb_typeof(p_query -> 'providers') is distinct from 'array'
         or provider in (select jsonb_array_elements_text(p_query -> 'providers')))
    and (jsonb_typeof(p_query -> 'models') is distinct from 'array'
         or model in (select jsonb_array_elements_text(p_query -> 'models')))
    and (jsonb_typeof(p_query -> 'services') is distinct from 'array'
         or service_type in (select jsonb_array_elements_text(p_query -> 'services')))
    and (jsonb_typeof(p_query -> 'demo') is distinct from 'boolean' or is_demo = (p_query ->> 'demo')::boolean)
$$;

revoke execute on function public.parley_fold_usage_classes(public.request_logs[]) from public, anon, authenticated;
grant execute on function public.parley_fold_usage_classes(public.request_logs[]) to service_role;
revoke execute on function public.parley_token_classes(jsonb) from public, anon;
grant execute on function public.parley_token_classes(jsonb) to authenticated, service_role;
