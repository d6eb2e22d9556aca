// Forum channels: the post feed (hot/new/top/controversial), voting, the post page with threaded
// comments (collapse, load more, reply inline), and the post composer with a preview, tags, NSFW and
// spoiler flags and image attachments uploaded with progress. Post and comment bodies reach the page
// only as the server's sanitized HTML re-checked by safeHTML (dom.js); so does the composer's preview
// (the server renders it), which offline falls back to the plain text.

import * as R from '../content.js';
import { announce, formatTime, h, replace, safeHTML } from '../dom.js';
import * as store from '../store.js';
import { upload } from './attachments.js';
import { decorateTokens } from './rich_text.js';
import { editedMark, isMine, ownActions } from './forum_own.js';
import { profileTrigger } from './profile_card.js';
import { showLinkedComment } from './comment_link.js';
import { saveButton } from './saved.js';
import { tagChoices, tagFilter } from './forum_tags.js';
import { postPollPart } from './poll_compose.js';
import { pollSlot } from './polls.js';

const SORTS = ['hot', 'new', 'top', 'controversial'];

function thumbUrl(media) {
  const v = media.variants || [];
  const pick = v.find((x) => x.name === 'thumb') || v.find((x) => x.name === 'display') || v[0];
  return pick ? pick.url : null;
}

function attachmentThumbs(ids) {
  if (!ids || !ids.length) return null;
  const box = h('div', { class: 'post-attachments' });
  for (const id of ids) {
    const slot = h('span', { class: 'thumb' });
    box.appendChild(slot);
    R.media.get(id).then((m) => {
      const url = thumbUrl(m);
      if (url) replace(slot, h('img', { src: url, alt: 'Attached image', loading: 'lazy', width: 96, height: 96 }));
    }).catch(() => replace(slot, 'attachment unavailable'));
  }
  return box;
}

/** NSFW/spoiler content stays blurred until the reader asks for it. */
function blurred(post, content) {
  if (!post.nsfw && !post.spoiler) return content;
  const label = post.nsfw ? 'NSFW' : 'Spoiler';
  const wrap = h('div', { class: 'blur-wrap blurred' }, content);
  const reveal = h('button', {
    class: 'btn blur-reveal',
    onclick: () => { wrap.classList.remove('blurred'); reveal.remove(); },
  }, `${label}: show`);
  wrap.appendChild(reveal);
  return wrap;
}

function voteBox(kind, item, onChange) {
  const score = h('span', { class: 'vote-score', 'aria-live': 'polite' }, String(item.score));
  const mk = (value, label, glyph) => h('button', {
    class: `icon-btn vote-btn${item.my_vote === value ? ' active' : ''}`,
    'aria-label': label,
    'aria-pressed': String(item.my_vote === value),
    onclick: async () => {
      const next = item.my_vote === value ? 0 : value;
      try {
        const out = await R.forum.vote(kind, item.id, { value: next });
        Object.assign(item, { my_vote: out.value, score: out.score, ups: out.ups, downs: out.downs });
        onChange();
      } catch (err) {
        announce(err.message);
      }
    },
  }, glyph);
  return h('div', { class: 'vote-box' }, mk(1, 'Upvote', '▲'), score, mk(-1, 'Downvote', '▼'));
}

function tagList(tags) {
  return tags && tags.length ? h('ul', { class: 'tags', 'aria-label': 'Tags' }, tags.map((t) => h('li', { class: 'tag' }, t))) : null;
}

async function report(communityId, type, id, userId) {
  const reason = window.prompt('Why are you reporting this?');
  if (!reason) return;
  try {
    await R.moderation.report(communityId, { target_type: type, target_id: id, target_user: userId, reason });
    announce('Reported. The moderators will review it.');
  } catch (err) {
    announce(err.message);
  }
}

/** A user's name that fills itself in when their profile arrives (ForumView listens for it). */
function userName(id, cls) {
  return profileTrigger(h('span', { class: cls, dataset: { userName: id }, tabindex: '0', role: 'button' }, store.displayName(id)), id);
}

/** The forum channel's pane: the feed, or one post when the path names it. Quacks like ChatView for
 *  the shell (destroy, focusComposer, catchUp, flushOutbox). */
export class ForumView {
  constructor(shell, channel) {
    this.shell = shell;
    this.channel = channel;
    this.channelId = channel.id;
    this.el = h('div', { class: 'chat-view forum-view' });
    // Names arrive after the page is drawn (a deep link or a reload knows nobody yet): fill them in.
    this.unsubs = [store.on('users', (id) => {
      for (const el of this.el.querySelectorAll(`[data-user-name="${CSS.escape(id)}"]`)) el.textContent = store.displayName(id);
    })];
  }

  destroy() { for (const u of this.unsubs) u(); }
  focusComposer() {}
  flushOutbox() {}
  catchUp() {}
  ack() {}

  base() {
    return `/channels/${this.channel.community_id}/${this.channel.id}`;
  }

  route(path) {
    const parts = path.split('/').filter(Boolean);
    const sort = new URLSearchParams(location.search).get('sort');
    if (parts[3] === 'new') return this.showComposer();
    if (parts[3]) return this.showPost(parts[3]);
    return this.showFeed(SORTS.includes(sort) ? sort : 'hot');
  }

  header(...extra) {
    return this.shell.header(
      h('h2', { class: 'channel-title' }, h('span', { class: 'hash', 'aria-hidden': 'true' }, '▤'), this.channel.name),
      this.channel.topic ? h('p', { class: 'channel-topic muted' }, this.channel.topic) : null,
      h('div', { class: 'header-actions' }, ...extra));
  }

  // -- feed ----------------------------------------------------------------------------------------

  async showFeed(sort) {
    const list = h('ol', { class: 'post-list', 'aria-label': `Posts, ${sort}` });
    const more = h('button', { class: 'btn', hidden: true }, 'Load more posts');
    const status = h('p', { class: 'muted', role: 'status' }, 'Loading posts…');
    const tag = new URLSearchParams(location.search).get('tag');
    const tabs = h('div', { class: 'sort-tabs', role: 'tablist', 'aria-label': 'Sort posts' },
      SORTS.map((s) => h('a', {
        role: 'tab',
        href: `${this.base()}?sort=${s}`,
        'aria-selected': String(s === sort),
        class: s === sort ? 'active' : '',
        onclick: (e) => { e.preventDefault(); this.shell.navigate(`${this.base()}?sort=${s}`); },
      }, s[0].toUpperCase() + s.slice(1))));
    const newBtn = h('a', { class: 'btn primary', href: `${this.base()}/new`, onclick: (e) => { e.preventDefault(); this.shell.navigate(`${this.base()}/new`); } }, 'New post');
    replace(this.el, this.header(newBtn), h('div', { class: 'scroller forum-scroller' }, tabs, tagFilter(this, sort, tag), status, list, more));
    let after = null;
    const load = async () => {
      try {
        const page = await R.forum.posts(this.channel.id, { sort, after, limit: 25, tag });
        for (const p of page.posts) list.appendChild(this.postCard(p));
        after = page.next;
        more.hidden = !after;
        status.textContent = list.children.length ? '' : 'No posts yet. Start the first one!';
      } catch (err) {
        status.textContent = err.message;
      }
    };
    more.onclick = load;
    await load();
  }

  postCard(post) {
    const li = h('li', { class: 'post-card', dataset: { id: post.id } });
    const render = () => {
      const href = `${this.base()}/${post.id}`;
      replace(li,
        voteBox('posts', post, render),
        h('div', { class: 'post-main' },
          h('h3', { class: 'post-title' }, h('a', { href, onclick: (e) => { e.preventDefault(); this.shell.navigate(href); } }, post.title)),
          h('p', { class: 'post-meta muted' },
            'by ', userName(post.author_id), ` · ${formatTime(post.created_at)} · ${post.comment_count} comments`,
            post.nsfw ? h('span', { class: 'flag nsfw' }, 'NSFW') : null,
            post.spoiler ? h('span', { class: 'flag spoiler' }, 'Spoiler') : null,
            post.removed ? h('span', { class: 'flag' }, 'Removed') : null),
          tagList(post.tags),
          blurred(post, h('div', { class: 'post-preview' }, safeHTML(post.body_html, decorateTokens), attachmentThumbs(post.attachments))),
          pollSlot(post)));
    };
    render();
    return li;
  }

  // -- one post and its comments -------------------------------------------------------------------

  async showPost(postId) {
    const back = h('a', { class: 'btn', href: this.base(), onclick: (e) => { e.preventDefault(); this.shell.navigate(this.base()); } }, '← Back to posts');
    const body = h('div', { class: 'scroller forum-scroller' }, h('p', { class: 'muted', role: 'status' }, 'Loading post…'));
    replace(this.el, this.header(back), body);
    let post;
    let tree;
    try {
      [post, tree] = await Promise.all([
        R.forum.post(postId),
        R.forum.comments(postId, { sort: 'best' }),
      ]);
    } catch (err) {
      replace(body, h('p', { role: 'alert' }, err.message));
      return;
    }
    this.post = post;
    const head = h('article', { class: 'post-full', 'aria-labelledby': 'post-title' });
    const editSlot = h('div', { class: 'edit-slot' });
    const own = () => ownActions('posts', post, editSlot, {
      changed: (out) => { Object.assign(post, out); renderHead(); },
      deleted: () => this.shell.navigate(this.base()),
    });
    const renderHead = () => replace(head,
      voteBox('posts', post, renderHead),
      h('div', { class: 'post-main' },
        h('h2', { id: 'post-title', class: 'post-title' }, post.title),
        h('p', { class: 'post-meta muted' }, 'by ', userName(post.author_id), ` · ${formatTime(post.created_at)}`, editedMark(post),
          post.locked ? h('span', { class: 'flag' }, 'Locked') : null),
        tagList(post.tags),
        blurred(post, h('div', { class: 'post-body msg-body' }, safeHTML(post.body_html, decorateTokens), attachmentThumbs(post.attachments))),
        pollSlot(post),
        editSlot,
        h('div', { class: 'post-actions' }, saveButton('post', post.id), isMine(post) ? own()
          : h('button', { class: 'btn', onclick: () => report(post.community_id, 'post', post.id, post.author_id) }, 'Report'))));
    renderHead();
    const comments = h('ol', { class: 'comment-tree', 'aria-label': 'Comments' });
    const top = this.replyForm(null, (c) => comments.prepend(this.commentEl(c)));
    const discussion = h('section', { class: 'comments', 'aria-label': 'Discussion' },
      h('h3', null, `${post.comment_count} comments`), post.locked ? h('p', { class: 'muted' }, 'This post is locked.') : top, comments);
    replace(body, head, discussion);
    this.appendComments(comments, tree.comments);
    showLinkedComment(this, discussion);
  }

  appendComments(ol, items) {
    for (const c of items) {
      if (c.kind === 'more') {
        const li = h('li', { class: 'more-comments' });
        li.appendChild(h('button', {
          class: 'btn link',
          onclick: async () => {
            try {
              const page = await R.forum.comments(this.post.id, { parent: c.parent_id, after: c.after });
              li.remove();
              this.appendComments(ol, page.comments);
            } catch (err) {
              announce(err.message);
            }
          },
        }, `Load ${c.count} more ${c.count === 1 ? 'reply' : 'replies'}`));
        ol.appendChild(li);
      } else {
        ol.appendChild(this.commentEl(c));
      }
    }
  }

  commentEl(c) {
    const li = h('li', { class: 'comment', dataset: { id: c.id, depth: String(c.depth) } });
    const replies = h('ol', { class: 'comment-tree' });
    const bodyBox = h('div', { class: 'comment-body-wrap' });
    const slot = h('div', { class: 'reply-slot' });
    const editSlot = h('div', { class: 'edit-slot' });
    const author = () => (c.author_id ? userName(c.author_id, 'author') : h('span', { class: 'author' }, '[deleted]'));
    const authorSlot = h('span', { class: 'author-slot' }, author());
    const markSlot = h('span', null, editedMark(c));
    const own = () => ownActions('comments', c, editSlot, {
      changed: (out) => { Object.assign(c, out, { replies: c.replies }); replace(markSlot, editedMark(c)); render(); },
      deleted: () => {
        Object.assign(c, { deleted: true, author_id: null, body: '', body_html: '', edited_at: null });
        replace(authorSlot, author());
        replace(markSlot);
        render();
      },
    });
    const toggle = h('button', {
      class: 'icon-btn collapse-btn',
      'aria-expanded': 'true',
      'aria-label': 'Collapse thread',
      onclick: () => {
        const open = toggle.getAttribute('aria-expanded') !== 'true';
        toggle.setAttribute('aria-expanded', String(open));
        toggle.setAttribute('aria-label', open ? 'Collapse thread' : 'Expand thread');
        toggle.textContent = open ? '−' : '+';
        bodyBox.hidden = !open;
        replies.hidden = !open;
      },
    }, '−');
    const render = () => replace(bodyBox,
      h('div', { class: 'comment-body msg-body' }, c.deleted || c.removed ? h('em', { class: 'muted' }, c.removed ? '[removed]' : '[deleted]') : safeHTML(c.body_html, decorateTokens)),
      editSlot,
      h('div', { class: 'comment-actions' },
        c.deleted ? null : voteBox('comments', c, render),
        this.post.locked || c.deleted || c.removed ? null : h('button', {
          class: 'btn link',
          onclick: () => {
            if (slot.firstChild) return replace(slot);
            const form = this.replyForm(c.id, (child) => { replies.prepend(this.commentEl(child)); replace(slot); });
            replace(slot, form);
            form.querySelector('textarea').focus();
          },
        }, 'Reply'),
        c.deleted || c.removed ? null : isMine(c) ? own()
          : h('button', { class: 'btn link', onclick: () => report(this.post.community_id, 'comment', c.id, c.author_id) }, 'Report')),
      slot);
    render();
    li.append(
      h('div', { class: 'comment-head' }, toggle, authorSlot,
        h('span', { class: 'muted' }, ` · ${formatTime(c.created_at)}`), markSlot),
      bodyBox, replies);
    this.appendComments(replies, c.replies || []);
    return li;
  }

  replyForm(parentId, done) {
    const text = h('textarea', { class: 'edit-input', rows: 3, 'aria-label': parentId ? 'Reply' : 'Write a comment', maxlength: 10000 });
    const error = h('p', { class: 'field-error', role: 'alert' });
    const form = h('form', {
      class: 'reply-form',
      onsubmit: async (e) => {
        e.preventDefault();
        if (!text.value.trim()) return;
        try {
          const c = await R.forum.addComment(this.post.id, { body: text.value, parent_id: parentId });
          text.value = '';
          done(c);
          announce('Comment posted.');
        } catch (err) {
          error.textContent = err.message;
        }
      },
    }, text, error, h('button', { class: 'btn primary', type: 'submit' }, parentId ? 'Reply' : 'Comment'));
    return form;
  }

  // -- composer ------------------------------------------------------------------------------------

  showComposer() {
    const title = h('input', { id: 'post-title-in', maxlength: 300, required: true });
    const text = h('textarea', { id: 'post-body-in', rows: 8, maxlength: 40000 });
    const tags = h('input', { id: 'post-tags-in', placeholder: 'comma, separated' });
    const nsfw = h('input', { type: 'checkbox', id: 'post-nsfw' });
    const spoiler = h('input', { type: 'checkbox', id: 'post-spoiler' });
    const preview = h('div', { class: 'post-preview-pane msg-body', 'aria-live': 'polite', hidden: true });
    const files = h('input', { type: 'file', id: 'post-files', accept: 'image/*', multiple: true });
    const uploads = h('ul', { class: 'upload-list' });
    const error = h('p', { class: 'form-banner', role: 'alert' });
    const attached = [];
    let pending = 0;
    const previewBtn = h('button', {
      type: 'button',
      class: 'btn',
      'aria-pressed': 'false',
      onclick: () => {
        const on = preview.hidden;
        preview.hidden = !on;
        text.hidden = on;
        previewBtn.setAttribute('aria-pressed', String(on));
        previewBtn.textContent = on ? 'Edit' : 'Preview';
        if (on) showPreview();
      },
    }, 'Preview');
    // The preview is the server's own rendering (POST /api/v1/markdown/preview, the renderer and
    // sanitizer post bodies get), fetched while typing (debounced) so the toggle is instant.
    // Offline it falls back to the plain text, escaped (never our own Markdown, which could differ).
    let rendered = { text: null, html: null };
    let seq = 0;
    let timer = null;
    const fetchPreview = async (source) => {
      const mine = ++seq;
      try {
        const out = await R.markdown.preview({ text: source });
        if (mine === seq || rendered.text !== source) rendered = { text: source, html: out.html };
        return out.html;
      } catch {
        return null; // offline (or refused): the caller shows the plain text
      }
    };
    const showPreview = async () => {
      const source = text.value;
      if (!source.trim()) {
        preview.dataset.source = 'empty';
        replace(preview, h('p', { class: 'muted' }, 'Nothing to preview.'));
        return;
      }
      let html = rendered.text === source ? rendered.html : null;
      if (html === null) {
        preview.dataset.source = 'loading';
        replace(preview, h('p', { class: 'muted', role: 'status' }, 'Rendering preview…'));
        html = await fetchPreview(source);
      }
      if (preview.hidden || text.value !== source) return; // toggled back, or edited meanwhile
      if (html === null) {
        preview.dataset.source = 'plain';
        replace(preview, h('p', { class: 'muted' }, 'Offline: the preview shows plain text; formatting appears once it is posted.'),
          h('p', { class: 'preview-plain' }, source));
      } else {
        preview.dataset.source = 'server';
        replace(preview, safeHTML(html));
      }
    };
    text.addEventListener('input', () => {
      clearTimeout(timer);
      if (navigator.onLine && text.value.trim()) timer = setTimeout(() => fetchPreview(text.value), 400);
    });
    files.addEventListener('change', () => {
      for (const file of files.files) {
        const bar = h('progress', { max: 1, value: 0, 'aria-label': `Uploading ${file.name}` });
        const row = h('li', { class: 'upload' }, h('span', null, file.name), bar);
        uploads.appendChild(row);
        pending += 1;
        upload(file, (f) => { bar.value = f; }).done.then((m) => {
          attached.push(m.id);
          const url = thumbUrl(m);
          replace(row, url ? h('img', { src: url, alt: file.name, width: 64, height: 64 }) : null, h('span', null, `${file.name} ✓`));
        }).catch((err) => replace(row, h('span', { role: 'alert' }, `${file.name}: ${err.message}`))).finally(() => { pending -= 1; });
      }
      files.value = '';
    });
    const pollPart = postPollPart();
    const submit = h('button', { class: 'btn primary', type: 'submit' }, 'Post');
    const form = h('form', {
      class: 'post-composer',
      onsubmit: async (e) => {
        e.preventDefault();
        if (pending) { error.textContent = 'Wait for the uploads to finish.'; return; }
        submit.disabled = true;
        try {
          const body = {
            title: title.value.trim(),
            body: text.value,
            tags: tags.value.split(',').map((t) => t.trim()).filter(Boolean),
            nsfw: nsfw.checked,
            spoiler: spoiler.checked,
            attachments: attached,
            poll: pollPart.value(),
          };
          const post = await R.forum.createPost(this.channel.id, body);
          announce('Posted.');
          this.shell.navigate(`${this.base()}/${post.id}`);
        } catch (err) {
          error.textContent = err.field ? `${err.field}: ${err.message}` : err.message;
          submit.disabled = false;
        }
      },
    },
    error,
    h('div', { class: 'field' }, h('label', { for: 'post-title-in' }, 'Title'), title),
    h('div', { class: 'field' }, h('label', { for: 'post-body-in' }, 'Body (Markdown)'), text, preview, h('div', null, previewBtn)),
    h('div', { class: 'field' }, h('label', { for: 'post-tags-in' }, 'Tags'), tags, tagChoices(this.channel.id, tags)),
    h('div', { class: 'check' }, nsfw, h('label', { for: 'post-nsfw' }, 'NSFW')),
    h('div', { class: 'check' }, spoiler, h('label', { for: 'post-spoiler' }, 'Spoiler')),
    h('div', { class: 'field' }, h('label', { for: 'post-files' }, 'Images'), files, uploads),
    pollPart.el,
    submit);
    const cancel = h('a', { class: 'btn', href: this.base(), onclick: (e) => { e.preventDefault(); this.shell.navigate(this.base()); } }, 'Cancel');
    replace(this.el, this.header(cancel), h('div', { class: 'scroller forum-scroller' }, h('h3', null, 'New post'), form));
    title.focus();
  }
}

/** Called by the shell for a forum channel: reuse the open view when only the sub-path changed. */
export function showForum(shell, channel) {
  if (!(shell.chat instanceof ForumView) || shell.chat.channelId !== channel.id) {
    shell.chat?.destroy();
    shell.chat = new ForumView(shell, channel);
    replace(shell.mainPane, shell.chat.el);
  }
  shell.chat.route(location.pathname);
}
