-- Parley: users' model choices, blind-comparison votes, and a status summary.

create table if not exists public.user_preferences (
  user_id text not null,
  service_type text,                              -- NULL = the user's default
  model text not null,
  updated_at timestamptz not null default now(),
  constraint user_preferences_user_service_key unique nulls not distinct (user_id, service_type)
);

alter table public.user_preferences enable row level security;
revoke all on table public.user_preferences from public, anon, authenticated;
grant select, insert, update on table public.user_preferences to authenticated;
grant select, insert, update, delete on table public.user_preferences to service_role;
drop policy if exists user_preferences_read_own on public.user_preferences;
create policy user_preferences_read_own on public.user_preferences for select to authenticated
  using (user_id = (select public.parley_current_user_id()) or (select public.parley_is_admin()));
drop policy if exists user_preferences_insert_own on public.user_preferences;
create policy user_preferences_insert_own on public.user_preferences for insert to authenticated
  with check (user_id = (select public.parley_current_user_id()));
drop policy if exists user_preferences_update_own on public.user_preferences;
create policy user_preferences_update_own on public.user_preferences for update to authenticated
  using (user_id = (select public.parley_current_user_id()))
  with check (user_id = (select public.parley_current_user_id()));
drop policy if exists user_preferences_service on public.user_preferences;
create policy user_preferences_service on public.user_preferences
  for all to service_role using (true) with check (true);

create table if not exists public.votes (
  id bigint generated always as identity primary key,
  created_at timestamptz not null default now(),
  user_id text not null,
  prompt_hash text,                               -- sha256 of the prompt, always safe to keep
  prompt text,                                    -- only as the privacy setting allows
  models jsonb not null,                          -- the configured names shown, in order
  settings jsonb not null default '{}'::jsonb,
  costs jsonb not null default '{}'::jsonb,       -- model -> cost (null = unknown)
  latencies jsonb not null default '{}'::jsonb,   -- model -> response time in ms
  winner text,                                    -- a model name, 'tie', or NULL for no choice
  is_demo boolean not null default false,
  metadata jsonb not null default '{}'::jsonb
);
create index if not exists votes_user_created_idx on public.votes (user_id, created_at desc);

alter table public.votes enable row level security;
revoke all on table public.votes from public, anon, authenticated;
grant select on table public.votes to authenticated;
grant select, insert, update, delete on table public.votes to service_role;
drop policy if exists votes_read_own on public.votes;
create policy votes_read_own on public.votes for select to authenticated
  using (user_id = (select public.parley_current_user_id()) or (select public.parley_is_admin()));
drop policy if exists votes_service on public.votes;
create policy votes_service on public.votes for all to service_role using (true) with check (true);

-- Upsert one preference under the caller's row-level security (a user: only their own).
create or replace function public.parley_set_preference(
  p_user_id text, p_model text, p_service_type text default null
) returns void
language sql volatile
set search_path = public, pg_temp
as $$
  insert into public.user_preferences as p (user_id, service_type, model, updated_at)
  values (p_user_id, p_service_type, p_model, now())
  on conflict (user_id, service_type) do update set model = excluded.model, updated_at = now()
$$;

-- A user's preferences as [{service_type, model}], the default (NULL) first.
create or replace function public.parley_get_preferences(p_user_id text) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(jsonb_build_object('service_type', service_type, 'model', model)
                            order by service_type nulls first), '[]'::jsonb)
  from public.user_preferences where user_id = p_user_id
$$;

-- Store one vote (keys as the votes columns); returns its id.
create or replace function public.parley_record_vote(p_vote jsonb) returns bigint
language sql volatile
set search_path = public, pg_temp
as $$
  insert into public.votes (created_at, user_id, prompt_hash, prompt, models, settings, costs,
                            latencies, winner, is_demo, metadata)
  select coalesce(v.created_at, now()), v.user_id, v.prompt_hash, v.prompt, v.models,
         coalesce(v.settings, '{}'::jsonb), coalesce(v.costs, '{}'::jsonb),
         coalesce(v.latencies, '{}'::jsonb), v.winner, coalesce(v.is_demo, false),
         coalesce(v.metadata, '{}'::jsonb)
  from jsonb_to_record(p_vote) as v(created_at timestamptz, user_id text, prompt_hash text,
       prompt text, models jsonb, settings jsonb, costs jsonb, latencies jsonb, winner text,
       is_demo boolean, metadata jsonb)
  returning id
$$;

-- Row counts per table, for `python -m core db status`.
create or replace function public.parley_status() returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select jsonb_build_object(
    'request_logs', (select count(*) from public.request_logs),
    'usage_daily', (select count(*) from public.usage_daily),
    'user_preferences', (select count(*) from public.user_preferences),
    'votes', (select count(*) from public.votes))
$$;

revoke execute on function public.parley_set_preference(text, text, text) from public, anon;
grant execute on function public.parley_set_preference(text, text, text) to authenticated, service_role;
revoke execute on function public.parley_get_preferences(text) from public, anon;
grant execute on function public.parley_get_preferences(text) to authenticated, service_role;
revoke execute on function public.parley_record_vote(jsonb) from public, anon, authenticated;
grant execute on function public.parley_record_vote(jsonb) to service_role;
revoke execute on function public.parley_status() from public, anon, authenticated;
grant execute on function public.parley_status() to service_role;
